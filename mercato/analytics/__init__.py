"""Analytics: which channels led to the sales (attribution models over customer journeys)."""
