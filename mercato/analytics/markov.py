"""First-order Markov chain attribution, solved exactly.

Every journey is a walk start -> its channels -> conversion or null, weighted by the
buyers who took it. The probability of reaching conversion is the absorbing chain's
answer to (I - Q) x = r (Q: channel-to-channel transition probabilities, r: each
channel's probability of converting next). Removing a channel sends every transition into
it to null; its removal effect is 1 - P(conversion without it) / P(conversion). Credit is
the removal effects normalised to the total conversions and value (Anderl et al., 2016,
"Mapping the customer journey"; the same construction as ChannelAttribution, which
estimates it by simulation where this solves it).

The system has one unknown per channel, with integer transition counts as coefficients,
so it is solved in exact rational arithmetic; floats appear only at the output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from mercato.analytics.journeys import Journey
from mercato.analytics.result import Attribution, ranked


@dataclass
class Chain:
    """Transition counts of the journeys (a count is a number of buyers)."""

    channels: list[str]
    starts: dict[str, int]
    moves: dict[str, dict[str, int]]
    converts: dict[str, int]
    leaves: dict[str, int]  # to null

    def total_out(self, channel: str) -> int:
        return sum(self.moves[channel].values()) + self.converts[channel] + self.leaves[channel]


def chain_of(journeys: Sequence[Journey]) -> Chain:
    starts: dict[str, int] = {}
    moves: dict[str, dict[str, int]] = {}
    converts: dict[str, int] = {}
    leaves: dict[str, int] = {}
    for j in journeys:
        weight = j.conversions + j.nulls
        if not weight:
            continue
        path = j.path
        first = path[0]
        starts[first] = starts.get(first, 0) + weight
        for a, b in zip(path, path[1:]):  # noqa: B905 -- pairs: one shorter on purpose
            row = moves.get(a)
            if row is None:
                row = moves[a] = {}
            row[b] = row.get(b, 0) + weight
        last = path[-1]
        converts[last] = converts.get(last, 0) + j.conversions
        leaves[last] = leaves.get(last, 0) + j.nulls
    channels = sorted(set(starts) | set(moves) | set(converts) | set(leaves))
    for c in channels:
        moves.setdefault(c, {})
        converts.setdefault(c, 0)
        leaves.setdefault(c, 0)
    return Chain(channels, starts, moves, converts, leaves)


def conversion_probability(chain: Chain, removed: str | None = None) -> Fraction:
    """P(start reaches conversion), with ``removed`` (if any) turned into null."""
    states = [c for c in chain.channels if c != removed]
    index = {c: i for i, c in enumerate(states)}
    n = len(states)
    # Row i scaled by the channel's outgoing count: integer coefficients, exact solve.
    a = [[0] * n for _ in range(n)]
    b = [chain.converts[c] for c in states]
    for i, c in enumerate(states):
        a[i][i] += chain.total_out(c)
        for target, count in chain.moves[c].items():
            k = index.get(target)
            if k is not None:
                a[i][k] -= count
    x = _solve(a, b)
    started = sum(chain.starts.values())
    if not started:
        return Fraction(0)
    reached = sum(
        (count * x[index[c]] for c, count in chain.starts.items() if c in index), Fraction(0)
    )
    return reached / started


def _solve(a: list[list[int]], b: list[int]) -> list[Fraction]:
    """Exact solution of an integer system: Bareiss's fraction-free elimination (every
    division exact, so the numbers stay integers), then back-substitution in fractions.
    The matrix is small (a row per channel) and non-singular, since every channel's walks
    end absorbed."""
    n = len(b)
    previous = 1
    for k in range(n):
        if a[k][k] == 0:
            swap = next(r for r in range(k + 1, n) if a[r][k] != 0)
            a[k], a[swap] = a[swap], a[k]
            b[k], b[swap] = b[swap], b[k]
        pivot_row = a[k]
        pivot = pivot_row[k]
        for i in range(k + 1, n):
            row = a[i]
            factor = row[k]
            for j in range(k + 1, n):
                row[j] = (row[j] * pivot - factor * pivot_row[j]) // previous
            b[i] = (b[i] * pivot - factor * b[k]) // previous
            row[k] = 0
        previous = pivot
    x = [Fraction(0)] * n
    for i in range(n - 1, -1, -1):
        rest = sum((a[i][j] * x[j] for j in range(i + 1, n)), Fraction(0))
        x[i] = (b[i] - rest) / a[i][i]
    return x


def removal_effects(chain: Chain) -> tuple[Fraction, dict[str, Fraction]]:
    base = conversion_probability(chain)
    if not base:
        return base, dict.fromkeys(chain.channels, Fraction(0))
    return base, {c: 1 - conversion_probability(chain, removed=c) / base for c in chain.channels}


def markov(journeys: Sequence[Journey]) -> Attribution:
    chain = chain_of(journeys)
    base, effects = removal_effects(chain)
    total_effect = sum(effects.values(), Fraction(0))
    total_conversions = sum(j.conversions for j in journeys)
    total_value = sum(j.value for j in journeys)
    conversions: dict[str, float] = {}
    values: dict[str, float] = {}
    for c, effect in effects.items():
        share = effect / total_effect if total_effect else Fraction(0)
        conversions[c] = float(share * total_conversions)
        values[c] = float(share) * total_value

    # Drill-down: a channel's credit is not a split of each journey; it is carried by
    # the converting journeys through the channel, in proportion to their conversions
    # and value. The chain mixes journeys, so a channel seen only on journeys that did not
    # convert can still earn credit: then its journeys carry it by their buyers.
    through: dict[str, list[float]] = {}
    for j in journeys:
        for c in set(j.path):
            seen = through.get(c)
            if seen is None:
                seen = through[c] = [0, 0.0, 0]
            seen[0] += j.conversions
            seen[1] += j.value
            seen[2] += j.conversions + j.nulls

    def contributes(j: Journey, channel: str) -> tuple[float, float]:
        conv, val, buyers = through.get(channel) or (0, 0.0, 0)
        credit, credit_value = conversions.get(channel, 0.0), values.get(channel, 0.0)
        if conv:
            part = credit * j.conversions / conv
        else:
            part = credit * (j.conversions + j.nulls) / buyers if buyers else 0.0
        if val:
            value_part = credit_value * j.value / val
        else:
            value_part = credit_value * (j.conversions + j.nulls) / buyers if buyers else 0.0
        return part, value_part

    return Attribution(
        "markov",
        ranked(conversions, values),
        journeys,
        contributes,
        {"conversion_probability": base, "removal_effects": effects},
    )
