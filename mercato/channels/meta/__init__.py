"""meta adapter: spec, mapping, client."""
