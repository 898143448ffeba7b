"""google adapter: spec, mapping, client."""
