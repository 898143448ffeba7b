"""A guest who buys again and again with the same typed email, name and address is one
suggested merge for the merchant, not one per purchase: its evidence grows, a dismissed
suggestion is not made again for the same evidence, and an accepted one is not made
again either."""

from __future__ import annotations

from sqlalchemy import select

from mercato.customers import identities, merges
from mercato.customers.identities import Observation
from mercato.customers.models import Customer, MergeSuggestion
from mercato.db import transaction

ADDRESS = {"line1": "12 Elm Road", "postal_code": "SW1A 1AA", "country": "GB"}


def checkout(sessions, n: int, email: str = "guest@example.com", batch: bool = False) -> str:
    seen = Observation(
        f"checkout:{n}",
        identities.contact_claims(email=email, name="Robin Guest", address=ADDRESS),
    )
    with transaction(sessions) as session:
        if batch:
            return identities.resolve_many(session, [seen])[0]
        return identities.resolve(session, seen)


def all_suggestions(sessions) -> list[MergeSuggestion]:
    with sessions() as session:
        return list(session.scalars(select(MergeSuggestion).order_by(MergeSuggestion.id)))


def test_a_repeat_guest_is_one_open_suggestion_whose_evidence_grows(sessions):
    first = checkout(sessions, 1)
    again = [checkout(sessions, n, batch=n % 2 == 0) for n in range(2, 6)]
    assert first not in again  # never linked on typed data alone

    [suggestion] = all_suggestions(sessions)
    assert suggestion.status == "open"
    assert suggestion.other_id == first and suggestion.customer_id == again[0]
    assert suggestion.evidence["sources"] == [f"checkout:{n}" for n in range(2, 6)]
    assert suggestion.evidence["rows"] == again[1:]
    assert {c["kind"] for c in suggestion.evidence["claims"]} == {"email", "postal"}
    assert "seen 4 times" in suggestion.reason
    with sessions() as session:
        assert len(merges.suggestions(session)) == 1

    # The merchant's one answer: every purchase of the guest joins the profile.
    with transaction(sessions) as session:
        merges.accept(session, suggestion.id, actor="admin:test")
    with sessions() as session:
        assert {session.get(Customer, row).profile_id for row in again} == {first}

    # Bought again: one of them for sure now, and nothing is suggested again.
    checkout(sessions, 6)
    assert [s.status for s in all_suggestions(sessions)] == ["accepted"]


def test_a_dismissed_suggestion_is_not_made_again_for_the_same_evidence(sessions):
    first = checkout(sessions, 1)
    second = checkout(sessions, 2)
    [suggestion] = all_suggestions(sessions)
    with transaction(sessions) as session:
        merges.dismiss(session, suggestion.id, actor="admin:test")

    third = checkout(sessions, 3)
    checkout(sessions, 4, batch=True)
    assert [s.status for s in all_suggestions(sessions)] == ["dismissed"]
    with sessions() as session:
        assert merges.suggestions(session) == []
        assert session.get(Customer, third).profile_id == third != first != second

    # Other evidence about the same profile is a new question for the merchant.
    checkout(sessions, 5, email="robin.other@example.com")
    statuses = [(s.status, s.other_id) for s in all_suggestions(sessions)]
    assert statuses == [("dismissed", first), ("open", first)]


def test_one_intake_matching_twice_is_one_suggestion_with_both_claims(sessions):
    first = checkout(sessions, 1)
    second = checkout(sessions, 2)
    [suggestion] = all_suggestions(sessions)
    assert (suggestion.customer_id, suggestion.other_id) == (second, first)
    assert sorted(c["kind"] for c in suggestion.evidence["claims"]) == ["email", "postal"]
    assert "guest@example.com" in suggestion.reason and "postal address" in suggestion.reason
