"""Live shopping and drops: live events (pins, live prices, the record of each sale),
ring-fenced channel pools for their products (``inventory.pools``), the admission gate
of drops, and the counters viewers watch."""
