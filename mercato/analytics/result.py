"""What every attribution model answers: per channel, the conversions and value credited
to it, and the way back from each figure to the journeys behind it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from mercato.analytics.journeys import Journey


@dataclass(frozen=True, slots=True)
class Credit:
    channel: str
    conversions: float
    value: float


@dataclass(frozen=True, slots=True)
class Contribution:
    """One journey's part in one channel's figure."""

    journey: Journey
    conversions: float
    value: float


# (journey, channel) -> the conversions and value that journey gives the channel.
Contributes = Callable[[Journey, str], tuple[float, float]]


@dataclass
class Attribution:
    model: str
    credits: list[Credit]
    journeys: Sequence[Journey]
    contributes: Contributes
    # Model-specific figures a reader may want to audit (removal effects, half-life...).
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def total_conversions(self) -> float:
        return sum(c.conversions for c in self.credits)

    @property
    def total_value(self) -> float:
        return sum(c.value for c in self.credits)

    def credit(self, channel: str) -> Credit:
        for c in self.credits:
            if c.channel == channel:
                return c
        raise KeyError(channel)

    def drill_down(self, channel: str) -> list[Contribution]:
        """The journeys behind a channel's figure; their parts add up to it."""
        out = []
        for j in self.journeys:
            if channel in j.path:
                conversions, value = self.contributes(j, channel)
                if conversions or value:
                    out.append(Contribution(j, conversions, value))
        out.sort(key=lambda c: -c.conversions)
        return out


def ranked(conversions: dict[str, float], values: dict[str, float]) -> list[Credit]:
    """Credits, most conversions first, then by name so that the order is stable."""
    channels = sorted(conversions, key=lambda c: (-conversions[c], c))
    return [Credit(c, conversions[c], values.get(c, 0.0)) for c in channels]


def _num(x: float) -> float:
    return round(x, 6) + 0.0  # no "-0.0"


def as_json(results: list[Attribution]) -> dict:
    """Per model: the channels' credits, the totals and the model's details."""
    out = {}
    for r in results:
        details = {}
        for key, val in r.details.items():
            if isinstance(val, dict):
                details[key] = {k: _num(float(v)) for k, v in val.items()}
            elif isinstance(val, Fraction):
                details[key] = _num(float(val))
            else:
                details[key] = val
        out[r.model] = {
            "channels": [
                {"channel": c.channel, "conversions": _num(c.conversions), "value": _num(c.value)}
                for c in r.credits
            ],
            "total_conversions": _num(r.total_conversions),
            "total_value": _num(r.total_value),
            "details": details,
        }
    return {"models": out}
