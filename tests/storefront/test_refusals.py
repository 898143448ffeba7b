"""Every refused storefront form post leaves the database as it was."""

from __future__ import annotations

import pytest

from tests.checkout.helpers import make_shop
from tests.helpers import BUYER as DETAILS
from tests.helpers import hidden_fields, open_checkout
from tests.orders.test_lifecycle import snapshot


@pytest.fixture
def checkout(client, sessions):
    make_shop(sessions)
    url, html = open_checkout(client)
    return url, hidden_fields(html)


REFUSALS = {
    "pay with a postal code that is not Californian": (
        "",
        {"action": "pay", "payment_method": "tok_visa", **DETAILS, "postal_code": "1"},
        422,
    ),
    "pay without an email or phone": (
        "",
        {"action": "pay", "payment_method": "tok_visa", **DETAILS, "email": ""},
        422,
    ),
    "an unknown discount code": ("", {"action": "update", **DETAILS, "discount_code": "NOPE"}, 422),
    "a stale form": ("", {"action": "pay", **DETAILS, "csrf": "forged"}, 403),
    "a sign-in link for no email": ("/login-link", {"email": "not-an-email"}, 422),
    "authentication with no payment waiting": ("/authenticate", {"answer": "approve"}, 409),
    "a card payment with an unknown test card": (
        "",
        {"action": "pay", "payment_method": "tok_unknown", **DETAILS},
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_refused_form_post_changes_nothing(case, client, checkout):
    url, fields = checkout
    path, data, status = REFUSALS[case]
    if case == "a card payment with an unknown test card":
        # The details are saved first (as the page's script does), so the total is known.
        client.post(url, data={**fields, "action": "update", **DETAILS})
        fields = hidden_fields(client.get(url).text)
    before = snapshot(client.app.state.sessions.read)
    refused = client.post(url + path, data={**fields, **data}, follow_redirects=False)
    assert refused.status_code == (status or refused.status_code) and refused.status_code >= 400
    after = snapshot(client.app.state.sessions.read)
    if case == "a card payment with an unknown test card":
        # The provider refused the card: the attempt is recorded and voided, nothing else.
        changed = {t for t in before if before[t] != after[t]}
        assert changed <= {"payments", "checkouts", "inventory_reservations"}, changed
        assert "voided" in str(after["payments"])
    else:
        assert after == before
