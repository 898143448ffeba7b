"""Fraud screening: rules and a score for every order, from any channel; decisions
approve, hold for review or cancel, each explained and logged."""
