"""Frequently bought together reproduces a published worked example exactly: mlxtend's
user guide for ``association_rules`` (Examples 1 and 2, the rules between two items),
https://rasbt.github.io/mlxtend/user_guide/frequent_patterns/association_rules/."""

from fractions import Fraction

from mercato.recommendations import baskets

DATASET = [
    ["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
    ["Milk", "Apple", "Kidney Beans", "Eggs"],
    ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
    ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"],
]


def _table(rules):
    return {
        (r.antecedent, r.consequent): (
            Fraction(r.antecedent_count, r.baskets),
            Fraction(r.consequent_count, r.baskets),
            r.support,
            r.confidence,
            r.lift,
        )
        for r in rules
    }


def test_example_1_rules_with_confidence_of_at_least_0_9():
    rules = baskets.pair_rules(baskets.count(DATASET), min_support=0.6, min_confidence=0.9)
    F = Fraction
    # antecedent support, consequent support, support, confidence, lift: as published.
    assert _table(rules) == {
        ("Eggs", "Kidney Beans"): (F("0.8"), F(1), F("0.8"), F(1), F(1)),
        ("Onion", "Eggs"): (F("0.6"), F("0.8"), F("0.6"), F(1), F("1.25")),
        ("Milk", "Kidney Beans"): (F("0.6"), F(1), F("0.6"), F(1), F(1)),
        ("Onion", "Kidney Beans"): (F("0.6"), F(1), F("0.6"), F(1), F(1)),
        ("Yogurt", "Kidney Beans"): (F("0.6"), F(1), F("0.6"), F(1), F(1)),
    }


def test_example_2_rules_with_lift_of_at_least_1_2_are_what_often_bought_with_shows():
    rules = baskets.pair_rules(baskets.count(DATASET), min_support=0.6)
    lifted = {k: v for k, v in _table(rules).items() if v[4] >= Fraction("1.2")}
    assert lifted == {
        ("Eggs", "Onion"): (
            Fraction("0.8"),
            Fraction("0.6"),
            Fraction("0.6"),
            Fraction("0.75"),
            Fraction("1.25"),
        ),
        ("Onion", "Eggs"): (
            Fraction("0.6"),
            Fraction("0.8"),
            Fraction("0.6"),
            Fraction(1),
            Fraction("1.25"),
        ),
    }
    # Kidney Beans is in every basket: confident with anything, lift 1, so never shown.
    shown = baskets.bought_with(rules, per_product=5)
    assert {a: [r.consequent for r in rs] for a, rs in shown.items()} == {
        "Eggs": ["Onion"],
        "Onion": ["Eggs"],
    }


def test_a_basket_counts_a_product_once_and_huge_baskets_add_no_pairs():
    counts = baskets.count([["A", "A", "B"], [f"X{i}" for i in range(baskets.MAX_BASKET + 1)]])
    assert counts.baskets == 2 and counts.singles["A"] == 1
    assert counts.pairs == {("A", "B"): 1}
