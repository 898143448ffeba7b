"""Customer journeys: the channels a buyer touched, in order, and how the journey ended.

A journey is aggregated: ``conversions`` and ``nulls`` count the buyers who took exactly
this path and then bought, or did not. Touch times, when known, are days before the
conversion, one per touch (the ledger has them; the common path file does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Journey:
    path: tuple[str, ...]
    conversions: int = 1
    value: float = 0.0
    nulls: int = 0
    days_before: tuple[float, ...] | None = None

    @property
    def timed(self) -> bool:
        return self.days_before is not None


def aggregate(journeys: Iterable[Journey]) -> list[Journey]:
    """Identical paths (and touch times) merged into one journey: every model's cost is
    then the number of distinct paths, not of buyers."""
    merged: dict[tuple, list] = {}
    for j in journeys:
        key = (j.path, j.days_before)
        seen = merged.get(key)
        if seen is None:
            merged[key] = [j.conversions, j.value, j.nulls]
        else:
            seen[0] += j.conversions
            seen[1] += j.value
            seen[2] += j.nulls
    return [
        Journey(path, conversions, value, nulls, days)
        for (path, days), (conversions, value, nulls) in merged.items()
    ]


class NeedsTouchTimes(ValueError):
    """A model or a lookback window asked for touch times that the journeys lack."""


def within_lookback(journeys: Iterable[Journey], days: float) -> list[Journey]:
    """Touches more than ``days`` before the conversion dropped; a journey left with no
    touch is dropped whole (its conversions are then credited to no channel)."""
    kept = []
    for j in journeys:
        if j.days_before is None:
            raise NeedsTouchTimes(
                f"a lookback window needs touch times, and the journey {'>'.join(j.path)} has none"
            )
        touches = [(c, d) for c, d in zip(j.path, j.days_before, strict=True) if d <= days]
        if touches:
            path, times = zip(*touches, strict=True)
            kept.append(Journey(path, j.conversions, j.value, j.nulls, times))
    return aggregate(kept)
