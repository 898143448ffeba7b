"""snapchat adapter: spec, mapping, client."""
