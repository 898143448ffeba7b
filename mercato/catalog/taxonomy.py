"""Google's product taxonomy (shipped as package data): ids <-> category paths."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TAXONOMY_FILE = Path(__file__).parent / "data" / "google_product_taxonomy.en-US.txt"


@lru_cache
def _load() -> tuple[dict[int, str], dict[str, int]]:
    by_id: dict[int, str] = {}
    for line in TAXONOMY_FILE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        ident, _, path = line.partition(" - ")
        by_id[int(ident)] = path.strip()
    return by_id, {path.casefold(): ident for ident, path in by_id.items()}


def resolve(value: int | str) -> tuple[int, str] | None:
    """(id, path) for an id, a path, or "id - path"; None when Google has no such category."""
    by_id, by_path = _load()
    text = str(value).strip()
    ident_text, sep, path_text = text.partition(" - ")
    if text.isdigit():
        ident = int(text)
        return (ident, by_id[ident]) if ident in by_id else None
    if sep and ident_text.isdigit() and int(ident_text) in by_id:
        return int(ident_text), by_id[int(ident_text)]
    ident = by_path.get(" > ".join(p.strip() for p in text.split(">")).casefold())
    return (ident, by_id[ident]) if ident is not None else None
