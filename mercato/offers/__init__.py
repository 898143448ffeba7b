"""Offers: one ledger of discounts (percentage, fixed, free shipping, buy X get Y,
tiered), their codes, and every redemption of them, whichever head redeems."""
