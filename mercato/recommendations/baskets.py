"""Frequently bought together: association rules between two products, from baskets.

For a rule A -> C over N baskets (the terms of Agrawal et al. and of Tan, Steinbach and
Kumar's *Introduction to Data Mining*): support = baskets holding both / N; confidence =
baskets holding both / baskets holding A; lift = confidence / (baskets holding C / N).
Lift above 1 means C is bought with A more often than on its own, which is what "often
bought with" should show: a product everyone buys has confidence with anything and lift
1. Counts are kept as integers, so every figure is an exact ratio.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import combinations

# A basket's pairs grow with its square: past this many distinct products a basket (a
# wholesale order, a test order of the whole catalog) says little about what goes together.
MAX_BASKET = 50


@dataclass(frozen=True)
class Rule:
    antecedent: Hashable
    consequent: Hashable
    both: int
    antecedent_count: int
    consequent_count: int
    baskets: int

    @property
    def support(self) -> Fraction:
        return Fraction(self.both, self.baskets)

    @property
    def confidence(self) -> Fraction:
        return Fraction(self.both, self.antecedent_count)

    @property
    def lift(self) -> Fraction:
        return self.confidence / Fraction(self.consequent_count, self.baskets)


@dataclass
class Counts:
    """How many baskets hold each product, and each pair of products."""

    baskets: int = 0
    singles: Counter = field(default_factory=Counter)
    pairs: Counter = field(default_factory=Counter)

    def add(self, basket: Iterable[Hashable]) -> None:
        items = sorted(set(basket), key=str)
        self.baskets += 1
        self.singles.update(items)
        if len(items) <= MAX_BASKET:
            self.pairs.update(combinations(items, 2))


def count(baskets: Iterable[Iterable[Hashable]]) -> Counts:
    counts = Counts()
    for basket in baskets:
        counts.add(basket)
    return counts


def pair_rules(
    counts: Counts,
    *,
    min_support: float = 0.0,
    min_count: int = 1,
    min_confidence: float = 0.0,
) -> list[Rule]:
    """Every rule A -> C between two products whose pair clears the thresholds, in both
    directions, sorted by antecedent, then confidence and lift, highest first."""
    n = counts.baskets
    support, confidence = Fraction(str(min_support)), Fraction(str(min_confidence))
    rules = []
    for (a, b), both in counts.pairs.items():
        # Integer comparisons: exact, and far cheaper than a Fraction per pair.
        if both < min_count or both * support.denominator < support.numerator * n:
            continue
        for x, y in ((a, b), (b, a)):
            if both * confidence.denominator >= confidence.numerator * counts.singles[x]:
                rules.append(Rule(x, y, both, counts.singles[x], counts.singles[y], n))
    rules.sort(key=lambda r: (str(r.antecedent), -_confidence(r), -_lift(r), str(r.consequent)))
    return rules


def _confidence(rule: Rule) -> float:
    """For ordering only (the exact figure is ``Rule.confidence``)."""
    return rule.both / rule.antecedent_count


def _lift(rule: Rule) -> float:
    return rule.both * rule.baskets / (rule.antecedent_count * rule.consequent_count)


def bought_with(rules: Iterable[Rule], per_product: int) -> dict[Hashable, list[Rule]]:
    """Per product, its rules with lift above 1, most confident first: the "often bought
    with" list."""
    found: dict[Hashable, list[Rule]] = {}
    for rule in rules:
        if rule.both * rule.baskets > rule.antecedent_count * rule.consequent_count:  # lift > 1
            found.setdefault(rule.antecedent, []).append(rule)
    return {
        a: sorted(rs, key=lambda r: (-_confidence(r), -_lift(r), str(r.consequent)))[:per_product]
        for a, rs in found.items()
    }
