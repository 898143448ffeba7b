"""Channels: connections to social platforms, listings of every variant on each, feeds."""
