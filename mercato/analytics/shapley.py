"""Shapley value attribution.

The game: channels are the players; the worth of a coalition S is what the journeys
whose set of channels lies within S brought, v(S) = sum of r(T) over T ⊆ S, where r(T)
is the conversions (or value) of the journeys touching exactly the channels T (Zhao et
al., 2018, "Shapley Value Methods for Attribution Modeling in Online Advertising",
arXiv:1804.05327, section 3). A channel's Shapley value is its marginal worth averaged
over every order in which the channels could join.

That worth is a sum of unanimity games (one per channel set T, worth r(T) to any
coalition holding all of T), whose Shapley value is r(T) / |T| to each member of T. So
the exact value is each journey's conversions split equally among its distinct channels
(Zhao et al.'s simplified formula), which costs one pass over the journeys whatever the
number of channels. The coalition sum and the permutation sampling below compute the
same numbers from the definition; they are kept to show that, and for checks.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from mercato.analytics import rules
from mercato.analytics.journeys import Journey
from mercato.analytics.result import Attribution

EXACT_COALITIONS_UP_TO = 15


def shapley(journeys: Sequence[Journey]) -> Attribution:
    result = rules.attribute("shapley", journeys, rules.linear_unique)
    result.details["method"] = "exact: r(T)/|T| per journey (Zhao et al. 2018)"
    return result


def _worth_by_channel_set(
    journeys: Sequence[Journey],
) -> tuple[list[str], dict[int, int], dict[int, float]]:
    channels = sorted({c for j in journeys for c in j.path})
    bit = {c: 1 << i for i, c in enumerate(channels)}
    conversions: dict[int, int] = {}
    values: dict[int, float] = {}
    for j in journeys:
        mask = 0
        for c in j.path:
            mask |= bit[c]
        conversions[mask] = conversions.get(mask, 0) + j.conversions
        values[mask] = values.get(mask, 0.0) + j.value
    return channels, conversions, values


def by_coalitions(
    journeys: Sequence[Journey],
) -> tuple[dict[str, Fraction], dict[str, float]]:
    """The definition, summed over all 2^n coalitions: exact conversions (as fractions)
    and value per channel. Refuses more than 15 channels (2^15 coalitions)."""
    channels, r_conv, r_value = _worth_by_channel_set(journeys)
    n = len(channels)
    if n > EXACT_COALITIONS_UP_TO:
        raise ValueError(
            f"{n} channels: exact Shapley over coalitions is limited to "
            f"{EXACT_COALITIONS_UP_TO} (use sampled())"
        )
    size = 1 << n
    v_conv = [0] * size
    v_value = [0.0] * size
    for mask, count in r_conv.items():
        v_conv[mask] += count
        v_value[mask] += r_value[mask]
    for i in range(n):  # subset sums: v(S) = sum of r(T), T ⊆ S
        b = 1 << i
        for mask in range(size):
            if mask & b:
                v_conv[mask] += v_conv[mask ^ b]
                v_value[mask] += v_value[mask ^ b]
    weight = [math.factorial(k) * math.factorial(n - k - 1) for k in range(n)]
    n_fact = math.factorial(n)
    conv: dict[str, Fraction] = {}
    value: dict[str, float] = {}
    for i, c in enumerate(channels):
        b = 1 << i
        total = 0
        total_value = 0.0
        for mask in range(size):
            if not mask & b:
                w = weight[mask.bit_count()]
                total += w * (v_conv[mask | b] - v_conv[mask])
                total_value += w * (v_value[mask | b] - v_value[mask])
        conv[c] = Fraction(total, n_fact)
        value[c] = total_value / n_fact
    return conv, value


@dataclass(frozen=True)
class Estimate:
    conversions: float
    # Half-width of the 95% confidence interval (normal approximation over permutations).
    error: float


def sampled(
    journeys: Sequence[Journey], permutations: int = 2000, seed: int = 0
) -> dict[str, Estimate]:
    """Monte-Carlo over random join orders: in each, a channel set's worth goes to the
    member that joins last (the one whose arrival completes it)."""
    channels, r_conv, _ = _worth_by_channel_set(journeys)
    n = len(channels)
    sets = [([i for i in range(n) if mask >> i & 1], count) for mask, count in r_conv.items()]
    rng = random.Random(seed)
    sums = [0.0] * n
    squares = [0.0] * n
    order = list(range(n))
    for _ in range(permutations):
        rng.shuffle(order)
        position = [0] * n
        for p, i in enumerate(order):
            position[i] = p
        marginal = [0.0] * n
        for members, count in sets:
            marginal[max(members, key=position.__getitem__)] += count
        for i in range(n):
            sums[i] += marginal[i]
            squares[i] += marginal[i] * marginal[i]
    out = {}
    for i, c in enumerate(channels):
        mean = sums[i] / permutations
        variance = max(squares[i] / permutations - mean * mean, 0.0)
        out[c] = Estimate(mean, 1.96 * math.sqrt(variance / permutations))
    return out
