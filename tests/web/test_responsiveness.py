"""Blocking work (a database lock, a slow payment provider) never holds up the event
loop: while requests wait for it, other requests keep being answered, on a real server.
The waits last until the test ends them, so an answer at all proves it (no timing)."""

from __future__ import annotations

import json
import threading
import time

import httpx
from sqlalchemy import text

from tests.checkout.helpers import complete, fill, make_shop, start
from tests.helpers import BUYER as DETAILS
from tests.helpers import buy_form, hidden_fields
from tests.payments.stripe_standin import WEBHOOK_SECRET, sign


class InFlight(threading.Thread):
    """One request sent from its own thread; ``response`` once it is answered."""

    def __init__(self, send):
        super().__init__(daemon=True)
        self.send, self.response = send, None

    def run(self):
        self.response = self.send()


def answered_meanwhile(url: str, waiting: list[threading.Thread], times: int = 50) -> None:
    """/healthz and a shop page answer, again and again, while ``waiting`` still wait (they
    cannot finish until the test lets them: answers now did not queue behind them). The
    timeout only bounds the test should the loop be blocked."""
    with httpx.Client(base_url=url, timeout=30) as browser:
        for _ in range(times):
            assert browser.get("/healthz").json() == {"status": "ok"}
        assert browser.get("/shop/p/hoodie").status_code == 200
    assert all(request.is_alive() for request in waiting)


def wait_until(condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def _shop_visit(url: str) -> tuple[httpx.Client, dict[str, str]]:
    """A buyer's browser on the product page: its cookie and the form's fields."""
    browser = httpx.Client(base_url=url)
    return browser, buy_form(browser.get("/shop/p/hoodie").text)


def _authenticated_payment_event(client, stand_in) -> bytes:
    """A checkout whose payment waits for the bank; Stripe's event that it succeeded."""
    token = start(client)["token"]
    fill(client, token)
    asked = complete(client, token, method="pm_card_authenticationRequired", key="auth-1")
    assert asked.status_code == 202, asked.text
    intent_id = next(iter(stand_in.intents))
    stand_in.finish_authentication(intent_id)
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": stand_in.intents[intent_id]},
    }
    return json.dumps(event).encode()


def test_requests_answer_while_a_purchase_and_a_webhook_wait_for_the_database(
    client, live_server, sessions, engine, stripe_shop
):
    make_shop(sessions)
    payload = _authenticated_payment_event(client, stripe_shop)
    browser, form = _shop_visit(live_server)
    with sessions() as holder:
        # Another writer holds the stock level and checkout rows both requests need
        # (on SQLite: the database's write lock).
        holder.execute(text("UPDATE inventory_stock_levels SET on_hand = on_hand"))
        holder.execute(text("UPDATE checkouts SET status = status"))
        busy = engine.pool.checkedout()
        buying = InFlight(lambda: browser.post("/shop/buy", data=form))
        webhook = InFlight(
            lambda: httpx.post(
                f"{live_server}/api/v1/payments/webhooks/stripe",
                content=payload,
                headers={"Stripe-Signature": sign(payload, WEBHOOK_SECRET)},
                timeout=60,
            )
        )
        buying.start()
        webhook.start()
        wait_until(lambda: engine.pool.checkedout() >= busy + 2, "both requests reach the database")

        answered_meanwhile(live_server, [buying, webhook])  # they wait for the rows
        holder.rollback()
    buying.join(60)
    webhook.join(60)
    assert buying.response.status_code == 303
    assert "/shop/checkout/" in buying.response.headers["location"]
    assert webhook.response.json() == {"outcome": "completed"}
    browser.close()


def test_requests_answer_while_a_payment_waits_for_the_provider(
    client, live_server, sessions, stripe_shop
):
    make_shop(sessions)
    browser, form = _shop_visit(live_server)
    page = browser.post("/shop/buy", data=form, follow_redirects=True)
    assert page.status_code == 200
    csrf = hidden_fields(page.text)["csrf"]
    totals = browser.post(f"{page.url}/totals", data={"csrf": csrf, **DETAILS})
    assert totals.status_code == 200, totals.text
    stripe_shop.answering.clear()  # the bank takes its time
    paying = InFlight(
        lambda: browser.post(
            str(page.url),
            data={
                "csrf": csrf,
                "action": "pay",
                "payment_method": "pm_card_visa",
                "shown_total": totals.json()["shown_total"],
                **DETAILS,
            },
            timeout=60,
        )
    )
    paying.start()
    assert stripe_shop.confirming.wait(30), "the payment never reached the provider"

    answered_meanwhile(live_server, [paying])  # it waits for the bank
    stripe_shop.answering.set()
    paying.join(60)
    assert paying.response.status_code == 303
    assert paying.response.headers["location"].endswith("/thanks")
    assert stripe_shop.charges() == 1
    browser.close()
