"""The rule-based models' definitions, drill-down and lookback."""

from __future__ import annotations

import random

import pytest

from mercato.analytics import rules
from mercato.analytics.attribution import MODELS, Options, attribute
from mercato.analytics.journeys import Journey, NeedsTouchTimes, aggregate, within_lookback
from mercato.analytics.shapley import by_coalitions


def test_each_rule_splits_a_journey_by_its_definition():
    j = Journey(("social", "email", "social", "search", "direct"))
    assert rules.first_touch(j) == {"social": 1.0}
    assert rules.last_non_direct()(j) == {"search": 1.0}
    assert rules.last_non_direct(["Direct"])(Journey(("direct", "DIRECT"))) == {"DIRECT": 1.0}
    assert rules.last_non_direct(["search", "direct"])(j) == {"social": 1.0}
    assert rules.linear(j) == pytest.approx(
        {"social": 0.4, "email": 0.2, "search": 0.2, "direct": 0.2}
    )
    assert rules.linear_unique(j) == pytest.approx(
        {"social": 0.25, "email": 0.25, "search": 0.25, "direct": 0.25}
    )
    assert rules.position_based(j) == pytest.approx(
        {"social": 0.4 + 0.2 / 3, "email": 0.2 / 3, "search": 0.2 / 3, "direct": 0.4}
    )
    assert rules.position_based(Journey(("a", "b"))) == {"a": 0.5, "b": 0.5}
    assert rules.position_based(Journey(("a",))) == {"a": 1.0}


def test_time_decay_refuses_journeys_without_touch_times():
    with pytest.raises(NeedsTouchTimes, match="days before the conversion"):
        attribute([Journey(("a", "b"))], "time-decay")


def _random_journeys(seed: int, channels: int = 6, n: int = 300) -> list[Journey]:
    rng = random.Random(seed)
    names = [f"ch{i}" for i in range(channels)]
    out = []
    for _ in range(n):
        length = rng.randint(1, 5)
        path = tuple(rng.choice(names) for _ in range(length))
        days = tuple(sorted((rng.randint(0, 30) for _ in range(length)), reverse=True))
        out.append(
            Journey(path, rng.randint(0, 3), rng.randint(0, 500) / 4, rng.randint(0, 5), days)
        )
    return aggregate(out)


@pytest.mark.parametrize("model", MODELS)
def test_every_model_credits_all_conversions_and_drills_down_to_its_figures(model):
    journeys = _random_journeys(7)
    result = attribute(journeys, model)
    total_conv = sum(j.conversions for j in journeys)
    total_value = sum(j.value for j in journeys)
    assert result.total_conversions == pytest.approx(total_conv)
    assert result.total_value == pytest.approx(total_value)
    for credit in result.credits:
        parts = result.drill_down(credit.channel)
        assert parts, credit.channel
        assert all(credit.channel in p.journey.path for p in parts)
        assert sum(p.conversions for p in parts) == pytest.approx(credit.conversions)
        assert sum(p.value for p in parts) == pytest.approx(credit.value)


def test_shapley_closed_form_equals_the_sum_over_coalitions():
    journeys = _random_journeys(11, channels=9)
    exact, values = by_coalitions(journeys)
    result = attribute(journeys, "shapley")
    for credit in result.credits:
        assert credit.conversions == pytest.approx(float(exact[credit.channel]), rel=1e-12)
        assert credit.value == pytest.approx(values[credit.channel], rel=1e-9)


def test_lookback_drops_touches_older_than_the_window():
    journeys = [
        Journey(("social", "email", "search"), 2, 20.0, 0, (40, 10, 0)),
        Journey(("email", "search"), 1, 10.0, 0, (12, 0)),
        Journey(("social",), 1, 5.0, 0, (45,)),  # nothing left: credited to no channel
    ]
    kept = within_lookback(journeys, 30)
    assert kept == [
        Journey(("email", "search"), 2, 20.0, 0, (10, 0)),
        Journey(("email", "search"), 1, 10.0, 0, (12, 0)),
    ]
    result = attribute(journeys, "first", Options(lookback_days=30))
    assert {c.channel: c.conversions for c in result.credits} == {"email": 3.0}
    with pytest.raises(NeedsTouchTimes):
        within_lookback([Journey(("a",))], 30)


def test_markov_credit_of_a_channel_seen_only_on_journeys_that_did_not_convert():
    # b never ends a converting journey, yet a>b>... mixes with b>c: b earns credit.
    journeys = [
        Journey(("a", "b"), conversions=0, nulls=3),
        Journey(("b", "c"), conversions=0, nulls=1),
        Journey(("a", "c"), conversions=2, value=40.0),
        Journey(("c",), conversions=0, nulls=1),
    ]
    result = attribute(journeys, "markov")
    b = result.credit("b")
    parts = result.drill_down("b")
    assert b.conversions > 0
    assert sum(p.conversions for p in parts) == pytest.approx(b.conversions)
    assert sum(p.value for p in parts) == pytest.approx(b.value)


def test_drill_down_of_a_channel_without_buyers_is_empty():
    journeys = [Journey(("a",), conversions=1), Journey(("ghost",), conversions=0, nulls=0)]
    for model in MODELS:
        if model != "time-decay":
            assert attribute(journeys, model).drill_down("ghost") == []
