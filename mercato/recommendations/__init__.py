"""Recommendations: what each buyer is likely to buy, trained from orders by a periodic
job, stored as precomputed lists, and served filtered by stock and the merchant's rules."""
