"""Mercato: a self-hosted social commerce hub."""

__version__ = "0.1.0"
