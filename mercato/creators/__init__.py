"""Creators and affiliates: their links and codes, who is credited with a sale, the
commission earned (per product, collection, tiers) and clawed back, payouts per period
(CSV, and Stripe Connect transfers), posts tagged with products, and each creator's
private page."""
