"""One profile per person: a TikTok Shop buyer, a WhatsApp sender and a storefront buyer
who are the same person end as one profile through the real intake paths, and an unmerge
gives each side back exactly what it had."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from mercato.checkout.models import Checkout
from mercato.customers import identities, merges
from mercato.customers.identities import Claim, Observation
from mercato.customers.models import Customer, Identity, Merge, MergeSuggestion
from mercato.db import transaction
from mercato.inbox import records
from mercato.inbox.models import Conversation
from mercato.orders.models import Order
from mercato.sandbox.orders import DeliverIn, OrderIn
from tests.checkout.helpers import complete, start
from tests.helpers import ADDRESS
from tests.inbox.conftest import account, deliver, notification, now, text_message  # noqa: F401
from tests.orders.conftest import shop  # noqa: F401

EMAIL = "Ada.Lovelace@Example.com"
NUMBER = "+14155550123"


def profile_of(sessions, customer_id: str) -> str:
    with sessions() as session:
        return session.get(Customer, customer_id).profile_id


def identities_of(sessions, profile_id: str) -> set[tuple[str, str, bool]]:
    with sessions() as session:
        return {(i.kind, i.value, i.verified) for i in identities.of_profile(session, profile_id)}


def linked(sessions, profile_id: str) -> dict[str, set[str]]:
    """What each side of a profile holds: its orders, conversations, checkouts."""
    with sessions() as session:
        rows = select(Customer.id).where(Customer.profile_id == profile_id)
        return {
            "orders": set(session.scalars(select(Order.id).where(Order.customer_id.in_(rows)))),
            "conversations": set(
                session.scalars(select(Conversation.id).where(Conversation.customer_id.in_(rows)))
            ),
        }


def test_tiktok_whatsapp_and_storefront_are_one_profile_and_unmerge_restores_both(
    shop,  # noqa: F811
    client,
    sessions,
    drain,
    deliver,  # noqa: F811
):
    # 1. Ada buys on TikTok Shop: the platform vouches for her user id and account email.
    channel_id, book = shop.connect("tiktok")
    placed = book.place(
        OrderIn(
            lines=[{"sku": "TEE-S", "quantity": 1, "price": "25.00"}],
            email=EMAIL,
            name="Ada Lovelace",
        )
    )
    book.deliver(DeliverIn())
    drain()
    with sessions() as session:
        tiktok_order = session.scalar(select(Order).where(Order.channel == channel_id))
        tiktok_row = tiktok_order.customer_id
    assert tiktok_row is not None
    assert identities_of(sessions, tiktok_row) >= {
        ("email", "ada.lovelace@example.com", True),
        ("platform", placed["user_id"], True),
    }

    # 2. She writes on WhatsApp from her number: a second profile, her number verified.
    message = text_message("wamid.A1", "Hi!", now(), sender=NUMBER.lstrip("+"))
    assert deliver(notification([message])).status_code == 200
    with sessions() as session:
        conversation = session.scalar(select(Conversation))
        whatsapp_row = conversation.customer_id
    assert whatsapp_row not in (None, tiktok_row)
    assert ("phone", NUMBER, True) in identities_of(sessions, whatsapp_row)

    # 3. She checks out on the storefront with that email and number (typed, unverified):
    # each matches a verified identity, so both profiles are hers: merged into the older.
    checkout = start(client, items=(("TEE-M", 1),))
    response = client.patch(
        f"/api/v1/checkouts/{checkout['token']}",
        json={
            "email": "ada.lovelace@example.com",
            "phone": "(415) 555-0123",
            "shipping_address": ADDRESS,
        },
    )
    assert response.status_code == 200, response.text
    assert complete(client, checkout["token"]).status_code == 200
    with sessions() as session:
        shop_order = session.scalar(select(Order).where(Order.channel == "storefront"))
        [merge] = session.scalars(select(Merge)).all()
        assert (merge.survivor_id, merge.merged_id) == (tiktok_row, whatsapp_row)
        assert merge.rule in ("verified_email", "verified_phone") and merge.actor == "system"
        assert f"checkout:{shop_order.id}" not in merge.reason
        assert merge.evidence["source"].startswith("checkout:")
    profile = profile_of(sessions, whatsapp_row)
    assert profile == profile_of(sessions, tiktok_row) == tiktok_row
    together = linked(sessions, profile)
    assert together == {
        "orders": {tiktok_order.id, shop_order.id},
        "conversations": {conversation.id},
    }
    everything = identities_of(sessions, profile)
    assert {("email", "ada.lovelace@example.com", True), ("phone", NUMBER, True)} <= (everything)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 2
        # The inbox shows her TikTok and storefront orders beside her WhatsApp thread.
        shown = records.orders_of(session, session.get(Conversation, conversation.id), 10)
        assert {o.id for o in shown} == {tiktok_order.id, shop_order.id}

    # 4. The merchant undoes it: each side has exactly what it had, the storefront order
    # with the side it was linked to (its email's).
    with transaction(sessions) as session:
        merges.unmerge(session, merge.id, actor="test")
    assert profile_of(sessions, whatsapp_row) == whatsapp_row
    assert linked(sessions, tiktok_row) == {
        "orders": {tiktok_order.id, shop_order.id},
        "conversations": set(),
    }
    assert linked(sessions, whatsapp_row) == {"orders": set(), "conversations": {conversation.id}}
    assert ("phone", NUMBER, True) in identities_of(sessions, whatsapp_row)
    assert not any(k == "phone" for k, _, _ in identities_of(sessions, tiktok_row))
    with sessions() as session:
        assert session.get(Merge, merge.id).status == "undone"
        assert session.get(Customer, whatsapp_row).merged_into_id is None


def test_a_typed_email_seen_twice_is_only_a_suggestion_until_accepted(sessions):
    with transaction(sessions) as session:
        first = identities.resolve(
            session, Observation("checkout:a", [Claim("email", "sam@example.com")])
        )
        second = identities.resolve(
            session,
            Observation(
                "checkout:b", [Claim("email", "sam@example.com"), Claim("phone", "+4915112345678")]
            ),
        )
    assert first != second
    assert profile_of(sessions, second) == second  # never merged on its own
    with sessions() as session:
        [suggestion] = merges.suggestions(session, second)
        assert suggestion.rule == "unverified_email"
        assert {suggestion.customer_id, suggestion.other_id} == {first, second}
    with transaction(sessions) as session:
        record = merges.accept(session, suggestion.id, actor="admin:test")
    assert profile_of(sessions, second) == first
    with sessions() as session:
        assert merges.suggestions(session, first) == []
        assert session.get(MergeSuggestion, suggestion.id).merge_id == record.id
    with transaction(sessions) as session:
        merges.unmerge(session, record.id, actor="admin:test")
    assert profile_of(sessions, second) == second


def test_the_same_name_at_the_same_address_is_a_suggestion(sessions):
    address = {"line1": "1 Main St", "city": "Austin", "postal_code": "73301", "country": "US"}
    other = {**address, "line1": "1  MAIN st."}
    with transaction(sessions) as session:
        first = identities.resolve(
            session,
            Observation("order:a", identities.contact_claims(name="Zoë Ray", address=address)),
        )
        second = identities.resolve(
            session,
            Observation(
                "order:b",
                [
                    Claim("platform", "zoe", "tiktok:chn_1", True),
                    *identities.contact_claims(name="Zoe ray", address=other),
                ],
            ),
        )
    assert first != second
    with sessions() as session:
        [suggestion] = merges.suggestions(session)
        assert suggestion.rule == "name_and_address"
    with transaction(sessions) as session:
        merges.dismiss(session, suggestion.id, actor="admin:test")
        again = identities.resolve(
            session,
            Observation(
                "order:c",
                [
                    Claim("platform", "zoe", "tiktok:chn_1", True),
                    *identities.contact_claims(name="Zoe Ray", address=address),
                ],
            ),
        )
    assert again == second
    with sessions() as session:  # dismissed: never suggested again for this pair
        assert merges.suggestions(session, first) == []


def test_a_verified_number_links_a_typed_one_and_verifies_what_was_typed(sessions):
    with transaction(sessions) as session:
        typed = identities.resolve(
            session, Observation("checkout:a", [Claim("phone", "+33612345678")])
        )
        sender = identities.resolve(
            session,
            Observation(
                "conversation:b",
                [
                    Claim("platform", "33612345678", "whatsapp:ibx_1", True),
                    Claim("phone", "+33612345678", verified=True),
                ],
            ),
        )
    assert sender == typed
    assert ("phone", "+33612345678", True) in identities_of(sessions, typed)


def test_normalising():
    assert identities.normal_email(" Ada@Example.COM ") == "ada@example.com"
    assert identities.normal_email("not an email") is None
    assert identities.normal_phone("15551234567") == "+15551234567"  # a WhatsApp id
    assert identities.normal_phone("(415) 555-0123", "US") == "+14155550123"
    assert identities.normal_phone("030 1234567", "DE") == "+49301234567"
    assert identities.normal_phone("(+1)512*****67") is None  # masked by the platform
    assert identities.postal_key("José  Núñez", {"line1": "Calle 1", "country": "es"}) == (
        identities.postal_key("jose nunez", {"line1": "CALLE 1.", "country": "ES"})
    )
    assert identities.postal_key(
        "Ada", {"line1": "1 Main St", "postal_code": "62704", "country": "US"}
    ).startswith("sha256:")


def test_two_intakes_of_one_new_person_at_once_make_one_identity(sessions, engine):
    barrier = threading.Barrier(2)
    made: list[str] = []
    errors: list[Exception] = []

    def intake(source: str) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction(sessions) as session:
                made.append(
                    identities.resolve(
                        session,
                        Observation(
                            source,
                            [
                                Claim("platform", "buyer-1", "tiktok:chn_1", True),
                                Claim("email", "new@example.com", verified=True),
                            ],
                        ),
                    )
                )
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=intake, args=(f"order:{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(made)) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Identity)) == 2
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


@pytest.mark.parametrize("kind", ["email"])
def test_a_signed_in_buyer_links_their_checkout_to_their_own_profile(sessions, kind):
    with transaction(sessions) as session:
        buyer = Customer(email="me@example.com")
        session.add(buyer)
        session.flush()
        row = identities.resolve(
            session,
            Observation("checkout:x", [Claim(kind, "other@example.com")], buyer.id),
        )
    assert row == buyer.id
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Checkout)) == 0
