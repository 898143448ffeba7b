"""tiktok adapter: spec, mapping, client."""
