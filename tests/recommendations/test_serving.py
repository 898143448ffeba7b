"""Recommendations as a shop serves them: trained from the order history, never a product
that cannot be bought, the merchant's rules on top, and a buyer's own list only with
their consent to personalisation."""

from __future__ import annotations

from sqlalchemy import func, select

from mercato.analytics import ledger
from mercato.customers import consent
from mercato.db import transaction
from mercato.recommendations import training
from mercato.recommendations.models import Recommendation, Version
from tests.recommendations.conftest import NOW


def _baskets(history):
    for _ in range(3):
        history.order("espresso", "grinder")
    for _ in range(4):
        history.order("espresso", "mug")  # sold out
        history.order("espresso", "beans")  # a draft
    for _ in range(2):
        history.order("espresso", "filters")
    history.order("espresso", "kettle", status="cancelled")
    for _ in range(3):
        history.order("kettle")
    for _ in range(5):
        history.order("tea", channel="tiktok")


def _shown(client, admin, path, **params):
    response = client.get(f"/api/v1/recommendations/{path}", headers=admin, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["list"], [p["handle"] for p in body["products"]], body["products"]


def test_often_bought_with_shows_only_products_that_can_be_bought(client, admin, sessions, history):
    _baskets(history)
    version = training.train(sessions, NOW)
    assert version.status == "ready" and version.orders_read == 21  # the cancelled one left out

    name, handles, products = _shown(client, admin, f"products/{history.products['espresso']}")
    # The mug (sold out), the beans (a draft) and the kettle (only in a cancelled order)
    # are left out; the grinder was bought with it most often.
    assert (name, handles) == ("fbt", ["grinder", "filters"])
    assert products[0]["reason"].startswith("bought together 3 times")
    assert products[0]["image"] == "https://cdn.example.com/grinder.jpg"

    page = client.get("/shop/p/espresso").text
    assert "Often bought with" in page and "Grinder Equipment" in page
    assert "Mug Cups" not in page and "Beans Coffee" not in page

    # A product never bought with anything: products alike instead.
    name, handles, _ = _shown(
        client, admin, f"products/{history.products['filters']}", list="similar"
    )
    assert name == "similar" and handles[:2] == ["grinder", "kettle"]  # also Equipment


def test_the_merchants_rules_exclude_pin_and_boost(client, admin, sessions, history):
    _baskets(history)
    training.train(sessions, NOW)
    espresso = f"products/{history.products['espresso']}"

    def rule(**body):
        response = client.post("/api/v1/recommendations/rules", headers=admin, json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    excluded = rule(product_id=history.products["grinder"], action="exclude")
    assert _shown(client, admin, espresso)[1] == ["filters"]
    rule(product_id=history.products["tea"], action="pin", list="fbt")
    assert _shown(client, admin, espresso)[1] == ["tea", "filters"]
    # A pin of something that cannot be bought shows nothing in its place.
    rule(product_id=history.products["mug"], action="pin")
    assert _shown(client, admin, espresso)[1] == ["tea", "filters"]
    assert (
        client.delete(f"/api/v1/recommendations/rules/{excluded}", headers=admin).status_code == 204
    )
    rule(product_id=history.products["filters"], action="boost", weight=10)
    assert _shown(client, admin, espresso)[1] == ["tea", "filters", "grinder"]

    refused = client.post(
        "/api/v1/recommendations/rules",
        headers=admin,
        json={"product_id": history.products["tea"], "action": "exclude", "weight": 3},
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["weight"]
    assert len(client.get("/api/v1/recommendations/rules", headers=admin).json()) == 3


def test_a_buyers_own_list_only_with_their_consent(client, admin, sessions, history):
    _baskets(history)
    ann = history.customer("ann", personalisation=True)
    bob = history.customer("bob")
    for name in ("ann", "bob"):
        for days in (40, 26):
            history.order("filters", "grinder", customer=name, days_ago=days)
        history.order("filters", customer=name, days_ago=12)
        history.order("kettle", customer=name, days_ago=30)
    training.train(sessions, NOW)

    name, handles, products = _shown(client, admin, f"customers/{ann}")
    assert name == "personal" and handles[:3] == ["filters", "grinder", "kettle"]
    assert products[0]["reason"] == "bought 3 times before"
    # Bob never agreed: what sells, and no list was ever made for him.
    name, handles, _ = _shown(client, admin, f"customers/{bob}")
    assert name == "popular" and handles[0] == "espresso"
    assert _shown(client, admin, f"customers/{bob}", channel="tiktok")[1] == ["tea"]
    with sessions() as session:
        subjects = set(
            session.scalars(select(Recommendation.subject).where(Recommendation.list == "personal"))
        )
        assert subjects == {ann}

    # A withdrawal counts from the moment it is recorded, before any new training.
    with transaction(sessions) as session:
        consent.record(
            session, ann, consent.Need("personalisation"), False, source="api", wording="No"
        )
    assert _shown(client, admin, f"customers/{ann}")[0] == "popular"


def test_browsing_gives_a_list_to_someone_who_never_bought_only_with_their_consent(
    client, admin, sessions, history
):
    """Views and add-to-carts joined to a customer count towards collaborative filtering:
    Cleo (who agreed) never bought, yet browsed like the buyers of kettles and tea."""
    _baskets(history)
    for name in ("ann", "bob", "cy"):
        history.customer(name, personalisation=True)
        history.order("kettle", "tea", customer=name, days_ago=20)
        history.order("kettle", "tea", customer=name, days_ago=10)
    cleo = history.customer("cleo", personalisation=True)
    dan = history.customer("dan")  # browsed the same, never agreed to personalisation
    with transaction(sessions) as session:
        touches = [
            {
                "event_id": f"web:{who}:{kind}",
                "kind": kind,
                "source": "browser",
                "at": NOW,
                "product_id": history.products["kettle"],
                "customer_id": ledger.customer_key(f"{who}@example.com", ""),
            }
            for who in ("cleo", "dan")
            for kind in ("product_view", "add_to_cart")
        ]
        ledger.record(session, touches)
    training.train(sessions, NOW)

    name, handles, products = _shown(client, admin, f"customers/{cleo}")
    assert name == "personal" and {"kettle", "tea"} <= set(handles)
    assert products[0]["reason"] == "bought by similar buyers"
    assert _shown(client, admin, f"customers/{dan}")[0] == "popular"


def test_training_from_the_api_keeps_the_last_versions_with_their_scores(
    client, admin, sessions, history, drain
):
    _baskets(history)
    history.customer("ann")
    for days in (30, 20, 10):
        history.order("tea", "kettle", customer="ann", days_ago=days)
    for _ in range(training.KEEP_VERSIONS + 1):
        queued = client.post("/api/v1/recommendations/versions", headers=admin)
        assert queued.status_code == 202
        drain()
    versions = client.get("/api/v1/recommendations/versions", headers=admin).json()
    assert len(versions) == training.KEEP_VERSIONS
    assert {v["status"] for v in versions} == {"ready"}
    scores = versions[0]["evaluation"]
    assert set(scores) == {"own_top_10", "popular", "personal", "collaborative_new_only"}
    assert scores["own_top_10"]["buyers"] == 1 and scores["own_top_10"]["precision_at_10"] == 0.2
    with sessions() as session:
        kept = session.scalar(select(func.count(func.distinct(Recommendation.version_id))))
        assert (
            kept
            == training.KEEP_VERSIONS
            == session.scalar(select(func.count()).select_from(Version))
        )
