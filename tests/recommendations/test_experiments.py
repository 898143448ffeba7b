"""A/B experiments on the product page's row: visitors split between two arms, what each
arm sees, and the ledger counting each arm's visitors, clicks, orders and revenue."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from mercato.analytics import ledger
from mercato.analytics.models import Experiment, Touch
from mercato.checkout.limits import visitor_key
from mercato.db import transaction
from mercato.recommendations import experiments, training
from tests.analytics.ledger_helpers import dispatch
from tests.helpers import BUYER, csrf_of, hidden_fields, pay_on_page, signed_in
from tests.recommendations.conftest import NOW

COOKIE = "mercato_csrf"


def start(client, admin, **body) -> dict:
    response = client.post("/api/v1/recommendations/experiments", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def test_visitors_split_by_the_share_and_keep_their_arm():
    experiment = Experiment(id="exp_split", arm_a="together", arm_b="popular", share_b=30)
    arms = [experiments.assign(experiment, f"visitor-{k}") for k in range(4000)]
    in_b = sum(a.arm == "b" for a in arms) / len(arms)
    assert 0.27 < in_b < 0.33
    assert {a.strategy for a in arms if a.arm == "b"} == {"popular"}
    assert experiments.assign(experiment, "visitor-7") == arms[7]
    # Another experiment draws again: arms are not the same visitors each time.
    other = Experiment(id="exp_other", arm_a="together", arm_b="popular", share_b=30)
    again = [experiments.assign(other, f"visitor-{k}").arm for k in range(4000)]
    assert again != [a.arm for a in arms]


def test_a_bad_experiment_is_refused_naming_the_field_and_one_runs_at_a_time(client, admin):
    same = client.post(
        "/api/v1/recommendations/experiments",
        json={"name": "x", "arm_a": "popular", "arm_b": "popular"},
        headers=admin,
    )
    assert same.status_code == 422 and "arm_b" in same.text and "differ" in same.text
    unknown = client.post(
        "/api/v1/recommendations/experiments", json={"name": "x", "arm_b": "magic"}, headers=admin
    )
    assert unknown.status_code == 422 and "arm_b" in unknown.text
    share = client.post(
        "/api/v1/recommendations/experiments",
        json={"name": "x", "arm_b": "none", "share_b": 100},
        headers=admin,
    )
    assert share.status_code == 422 and "share_b" in share.text

    first = start(client, admin, name="first", arm_b="none")
    second = client.post(
        "/api/v1/recommendations/experiments",
        json={"name": "second", "arm_b": "similar"},
        headers=admin,
    )
    assert second.status_code == 409
    stopped = client.post(f"/api/v1/recommendations/experiments/{first['id']}/stop", headers=admin)
    assert stopped.json()["status"] == "stopped"
    assert start(client, admin, name="second", arm_b="similar")["status"] == "running"
    listed = client.get("/api/v1/recommendations/experiments", headers=admin).json()["data"]
    assert [e["name"] for e in listed] == ["second", "first"]


def test_the_z_test_matches_a_worked_example(sessions):
    """75 of 1,000 against 50 of 1,000: z = 0.025 / √(0.0625 · 0.9375 · 0.002) = 2.3094,
    two-sided p = 0.0209 (as statsmodels' ``proportions_ztest([75, 50], [1000, 1000])``)."""
    with transaction(sessions) as session:
        experiment = Experiment(name="row", arm_a="together", arm_b="popular", share_b=50)
        session.add(experiment)
        session.flush()
        counts = {"a": (1000, 50, 50_000), "b": (1000, 75, 80_000)}
        for arm, (visitors, orders, revenue) in counts.items():
            tag = f"{experiment.id}:{arm}"
            common = {"source": "server", "at": NOW, "experiment": tag}
            ledger.record(
                session,
                [
                    {**common, "event_id": f"e-{arm}", "kind": "impression", "count": visitors},
                    {
                        **common,
                        "event_id": f"p-{arm}",
                        "kind": "purchase",
                        "count": orders,
                        "value": revenue,
                        "currency": "EUR",
                    },
                    {**common, "event_id": f"r-{arm}", "kind": "refund", "value": -1000},
                ],
            )
        result = experiments.results(session, experiment)
    assert (result.a.visitors, result.a.orders, result.b.orders) == (1000, 50, 75)
    assert float(result.difference) == pytest.approx(0.025)
    assert result.z == pytest.approx(2.3094, abs=1e-4)
    assert result.p_value == pytest.approx(0.02092, abs=1e-5)
    # Refunds come off the revenue; a refund touch without a currency counts nowhere.
    assert result.b.revenue == {"EUR": 80_000}


def _cookie_in(experiment_id: str, arm: str) -> str:
    experiment = Experiment(id=experiment_id, arm_a="together", arm_b="none", share_b=50)
    return next(
        value
        for k in range(200)
        if experiments.assign(experiment, visitor_key(value := f"browser-cookie-{k}")).arm == arm
    )


def test_each_arm_sees_its_row_and_the_ledger_counts_its_visitors_clicks_and_orders(
    client, admin, sessions, history
):
    for _ in range(3):
        history.order("espresso", "grinder")
    history.order("kettle")
    training.train(sessions, NOW)
    experiment = start(client, admin, name="row or not", arm_a="together", arm_b="none")
    eid = experiment["id"]

    # A visitor of arm A sees "often bought with"; two views are one visitor.
    client.cookies.set(COOKIE, _cookie_in(eid, "a"))
    page = client.get("/shop/p/espresso").text
    client.get("/shop/p/espresso")
    assert "Often bought with" in page and "Grinder Equipment" in page
    link = html.unescape(re.search(r'href="(/shop/p/grinder\?[^"]+)"', page).group(1))
    assert f"rx={eid}%3Aa" in link
    client.get(link)  # a click on the row

    # They buy: the arm rides in the checkout's attribution to the order's purchase.
    product = client.get("/shop/p/espresso").text
    form = {**hidden_fields(product), "variant_id": history.variants["espresso"]}
    url = client.post("/shop/buy", data=form, follow_redirects=False).headers["location"]
    paid = pay_on_page(client, url, {**BUYER, "payment_method": "tok_visa"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    dispatch(sessions)
    with sessions() as session:
        [purchase] = session.scalars(select(Touch).where(Touch.kind == "purchase")).all()
        assert purchase.experiment == f"{eid}:a"

    # A visitor of arm B sees no row at all, and buys nothing.
    client.cookies.clear()
    client.cookies.set(COOKIE, _cookie_in(eid, "b"))
    assert 'class="recommended"' not in client.get("/shop/p/espresso").text

    result = client.get(f"/api/v1/recommendations/experiments/{eid}", headers=admin).json()
    a, b = result["arms"]
    assert (a["strategy"], a["visitors"], a["clicks"], a["orders"]) == ("together", 1, 1, 1)
    assert a["revenue"] == {purchase.currency: purchase.value} and a["conversion"] == 1.0
    assert (b["strategy"], b["visitors"], b["clicks"], b["orders"]) == ("none", 1, 0, 0)
    assert result["difference"] == -1.0 and "pooled" in result["formulas"]["p_value"]

    # Stopped: everyone sees the usual row again, and nothing more is counted.
    client.post(f"/api/v1/recommendations/experiments/{eid}/stop", headers=admin)
    assert "Often bought with" in client.get("/shop/p/espresso").text
    after = client.get(f"/api/v1/recommendations/experiments/{eid}", headers=admin).json()
    assert [arm["visitors"] for arm in after["arms"]] == [1, 1]


def test_the_dashboard_starts_shows_and_stops_an_experiment(client, sessions, history):
    viewer = signed_in(client, sessions, "recommendations:read", name="ana")
    page = viewer.get("/admin/recommendations").text
    assert "A/B test" in page and "Start experiment" not in page

    editor = signed_in(client, sessions, "recommendations:write", name="mia")
    page = editor.get("/admin/recommendations").text
    assert "No experiment yet" in page
    csrf = csrf_of(page)
    refused = editor.post(
        "/admin/recommendations/experiments",
        data={"csrf": csrf, "name": "same", "arm_a": "similar", "arm_b": "similar"},
        follow_redirects=True,
    ).text
    assert "arm_b" in refused and "must differ" in refused
    started = editor.post(
        "/admin/recommendations/experiments",
        data={"csrf": csrf, "name": "Best sellers", "arm_a": "together", "arm_b": "popular"},
        follow_redirects=True,
    ).text
    assert "Experiment started: Best sellers" in started
    assert "the shop&#39;s best sellers" in started and "Start experiment" not in started
    with sessions() as session:
        experiment = experiments.running(session)
    stopped = editor.post(
        f"/admin/recommendations/experiments/{experiment.id}/stop",
        data={"csrf": csrf},
        follow_redirects=True,
    ).text
    assert "Experiment stopped" in stopped and "Start experiment" in stopped
