"""Creators and affiliates: their links and codes, who is credited with a sale, the
commission earned and clawed back, payouts per period and each creator's private page."""
