"""pinterest adapter: spec, mapping, client."""
