"""Data subject requests: a person's data found, exported and erased across every domain,
by the registry each domain declares (``mercato.personal``)."""
