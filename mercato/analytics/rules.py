"""Rule-based models: each splits one converting journey among its touches by a fixed
rule, and a channel's credit is the sum of its parts over the journeys."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from mercato.analytics.journeys import Journey, NeedsTouchTimes
from mercato.analytics.result import Attribution, ranked

# A journey -> each channel's share of its conversions and value (shares sum to 1).
Split = Callable[[Journey], dict[str, float]]

DIRECT = ("direct", "(direct)")
HALF_LIFE_DAYS = 7.0


def first_touch(j: Journey) -> dict[str, float]:
    return {j.path[0]: 1.0}


def last_non_direct(direct: Iterable[str] = DIRECT) -> Split:
    """The last touch that is not direct; a journey of direct touches only stays direct
    (as Google Analytics' last non-direct click does)."""
    names = {d.lower() for d in direct}

    def split(j: Journey) -> dict[str, float]:
        for channel in reversed(j.path):
            if channel.lower() not in names:
                return {channel: 1.0}
        return {j.path[-1]: 1.0}

    return split


def linear(j: Journey) -> dict[str, float]:
    """Per touch: a channel touched twice gets two shares."""
    share = 1.0 / len(j.path)
    out: dict[str, float] = {}
    for channel in j.path:
        out[channel] = out.get(channel, 0.0) + share
    return out


def linear_unique(j: Journey) -> dict[str, float]:
    """Per unique channel: each channel on the path gets one share, however often touched."""
    channels = set(j.path)
    share = 1.0 / len(channels)
    return dict.fromkeys(channels, share)


def position_based(j: Journey) -> dict[str, float]:
    """40% to the first touch, 40% to the last, 20% split among the touches between;
    two touches 50/50, one touch 100%."""
    n = len(j.path)
    if n == 1:
        return {j.path[0]: 1.0}
    if n == 2:
        weights = [0.5, 0.5]
    else:
        middle = 0.2 / (n - 2)
        weights = [0.4] + [middle] * (n - 2) + [0.4]
    out: dict[str, float] = {}
    for channel, w in zip(j.path, weights, strict=True):
        out[channel] = out.get(channel, 0.0) + w
    return out


def time_decay(half_life_days: float = HALF_LIFE_DAYS) -> Split:
    """Each touch weighs 2^(-days before conversion / half-life), normalised per journey."""
    if half_life_days <= 0:
        raise ValueError("the half-life must be a positive number of days")

    def split(j: Journey) -> dict[str, float]:
        if j.days_before is None:
            raise NeedsTouchTimes(
                "time decay needs each touch's days before the conversion; the journey "
                f"{'>'.join(j.path)} has none (give the file a days_before column)"
            )
        weights = [2.0 ** (-d / half_life_days) for d in j.days_before]
        total = sum(weights)
        out: dict[str, float] = {}
        for channel, w in zip(j.path, weights, strict=True):
            out[channel] = out.get(channel, 0.0) + w / total
        return out

    return split


def attribute(model: str, journeys: Sequence[Journey], split: Split, **details) -> Attribution:
    """Sum each converting journey's split into per-channel credit."""
    conversions: dict[str, float] = {}
    values: dict[str, float] = {}
    for j in journeys:
        if not j.conversions and not j.value:
            continue
        for channel, share in split(j).items():
            conversions[channel] = conversions.get(channel, 0.0) + share * j.conversions
            values[channel] = values.get(channel, 0.0) + share * j.value

    def contributes(j: Journey, channel: str) -> tuple[float, float]:
        share = split(j).get(channel, 0.0)
        return share * j.conversions, share * j.value

    return Attribution(model, ranked(conversions, values), journeys, contributes, details)
