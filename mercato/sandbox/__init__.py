"""Local simulators of the platforms' APIs: they enforce the public spec, keep state and
inject faults on request, so Mercato can be developed and demonstrated with no account."""
