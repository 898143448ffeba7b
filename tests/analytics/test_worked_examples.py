"""Published worked examples, reproduced exactly. Each cites where it was published."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mercato.analytics import rules
from mercato.analytics.attribution import attribute
from mercato.analytics.journeys import Journey
from mercato.analytics.markov import chain_of, removal_effects
from mercato.analytics.shapley import by_coalitions, sampled


def test_three_channel_markov_example_removal_effects():
    # Sergey Bryl', "Marketing Multi-Channel Attribution model with R (part 1: Markov
    # chains concept)", 2016, https://analyzecore.com/2016/08/03/attribution-model-r-part-1/
    # Journeys C1>C2>C3 -> purchase, C1 -> null, C2>C3 -> null: P(conversion) = 1/3 and
    # removal effects C1 0.5, C2 1, C3 1.
    journeys = [
        Journey(("C1", "C2", "C3"), conversions=1),
        Journey(("C1",), conversions=0, nulls=1),
        Journey(("C2", "C3"), conversions=0, nulls=1),
    ]
    base, effects = removal_effects(chain_of(journeys))
    assert base == Fraction(1, 3)
    assert effects == {"C1": Fraction(1, 2), "C2": 1, "C3": 1}
    result = attribute(journeys, "markov")
    # Normalised: 0.5 / 2.5 and 1 / 2.5 of the one conversion.
    assert {c.channel: c.conversions for c in result.credits} == {
        "C1": 0.2,
        "C2": 0.4,
        "C3": 0.4,
    }


def test_two_channel_markov_example_attribution():
    # Serhii Puzyrov, "Markov Chain Attribution – Simple Explanation Of Removal Effect",
    # 2019, https://serhiipuzyrov.com/2019/07/markov-chain-attribution-simple-explanation-of-removal-effect/
    # google ads 2 conversions, mailing 1, google ads > mailing 1, google ads 0 (1 null):
    # removal effects 0.75 and 0.5, attribution google ads 2.4, mailing 1.6.
    journeys = [
        Journey(("google ads",), conversions=2),
        Journey(("mailing",), conversions=1),
        Journey(("google ads", "mailing"), conversions=1),
        Journey(("google ads",), conversions=0, nulls=1),
    ]
    base, effects = removal_effects(chain_of(journeys))
    assert base == Fraction(4, 5)
    assert effects == {"google ads": Fraction(3, 4), "mailing": Fraction(1, 2)}
    result = attribute(journeys, "markov")
    assert [(c.channel, c.conversions) for c in result.credits] == [
        ("google ads", 2.4),
        ("mailing", 1.6),
    ]


def test_google_time_decay_shares_for_touches_10_3_1_0_days_before():
    # Google's time decay: "Attributes exponentially more credit for a conversion to its
    # more recent clicks ... (half-life is 1 week)", Google Ads API, AttributionModel,
    # https://developers.google.com/google-ads/api/reference/rpc/v17/AttributionModelEnum.AttributionModel
    # So a touch d days before weighs 2^(-d/7), normalised over the journey. Google's page
    # gives the rule, not a table of shares: the shares for 10, 3, 1 and 0 days below are
    # that rule's (12.3%, 24.6%, 30.0%, 33.1%), and the rule itself is checked exactly.
    journey = Journey(("display", "social", "email", "search"), 1, 100.0, 0, (10, 3, 1, 0))
    weights = [2 ** (-10 / 7), 2 ** (-3 / 7), 2 ** (-1 / 7), 1.0]
    total = sum(weights)
    shares = rules.time_decay(7)(journey)
    for channel, w in zip(journey.path, weights, strict=True):
        assert shares[channel] == pytest.approx(w / total, rel=1e-15)
    assert [round(100 * shares[c], 1) for c in journey.path] == [12.3, 24.6, 30.0, 33.1]
    # One half-life earlier: exactly half the credit.
    week = rules.time_decay(7)(Journey(("a", "b"), 1, 0.0, 0, (7, 0)))
    assert week["a"] * 2 == week["b"]
    result = attribute([journey], "time-decay")
    assert result.total_conversions == pytest.approx(1.0)
    assert result.credit("search").value == pytest.approx(100 / total)


def test_shapley_worked_example():
    # "Data-driven marketing attribution" (Shapley value), Towards Data Science,
    # https://towardsdatascience.com/data-driven-marketing-attribution-1a28d2e613a0 and its
    # notebook https://github.com/tomgorb/misc ("Data Driven Attribution.ipynb"):
    # channels Facebook, Organic, LinkedIn; conversions by channel set F 20, O 10, L 17,
    # F+O 17, F+L 30, O+L 0, F+O+L 6 (of 100); worth v(S) = conversions of the journeys
    # whose channels lie within S (0.2, 0.1, 0.17, 0.47, 0.67, 0.27, 1.0); Shapley values
    # F 0.455, O 0.205, L 0.34.
    journeys = [
        Journey(("F",), 20),
        Journey(("O",), 10),
        Journey(("L",), 17),
        Journey(("O", "F"), 17),
        Journey(("F", "L"), 30),
        Journey(("F", "O", "L"), 6),
    ]
    exact, _ = by_coalitions(journeys)
    assert exact == {"F": Fraction(455, 10), "O": Fraction(205, 10), "L": Fraction(34)}
    result = attribute(journeys, "shapley")
    assert {c.channel: c.conversions for c in result.credits} == {
        "F": 45.5,
        "O": 20.5,
        "L": 34.0,
    }
    estimates = sampled(journeys, permutations=4000, seed=1)
    for channel, value in exact.items():
        assert (
            abs(estimates[channel].conversions - float(value))
            <= 3 * estimates[channel].error + 1e-9
        )
