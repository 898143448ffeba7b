"""Payments: providers behind one interface; no card number ever reaches Mercato."""
