"""Customers: returning buyers with a saved address and a saved payment method token."""
