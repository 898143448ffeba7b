"""Inventory: one stock ledger per variant and location, expiring reservations, and the
availability each channel may publish."""
