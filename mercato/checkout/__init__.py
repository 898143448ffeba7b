"""Checkout: the buyer's session from cart to order (lines, hold, totals, payment)."""
