"""Profiles through the API and the CLI: list and search, the whole profile with its
lifetime figures (net of refunds), tags and notes, the timeline, merges and suggestions,
consent (withdrawal in force at once, history kept) and segments with their members."""

from __future__ import annotations

from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.db import transaction
from mercato.orders import creation, refunds
from mercato.orders.schemas import OrderCreate, RefundCreate

ADDRESS = {"line1": "Rua Augusta 1", "city": "Lisboa", "postal_code": "1100-048", "country": "PT"}


def order(sessions, *, total=2500, country="PT", paid=True, **customer) -> dict:
    with transaction(sessions) as session:
        made, _ = creation.create_order(
            session,
            OrderCreate(
                channel="tiktok",
                currency="USD",
                lines=[{"title": "Tee", "unit_price": total, "quantity": 1}],
                customer=customer,
                shipping_address={**ADDRESS, "country": country},
                payment_status="paid" if paid else "pending",
            ),
            actor="channel:tiktok",
        )
        return {"id": made.id, "customer_id": made.customer_id, "line": made.lines[0].id}


def test_a_profile_reads_whole_and_its_figures_are_net_of_refunds(client, admin, sessions):
    first = order(sessions, email="rui@example.com", name="Rui Costa", external_id="u1")
    second = order(sessions, total=4000, external_id="u1")  # the same TikTok buyer
    order(sessions, email="other@example.com", name="Other", total=100, country="BR")
    assert first["customer_id"] == second["customer_id"]
    refunds.refund(sessions, second["id"], RefundCreate(amount=1000, reason="damaged"), "test")
    me = first["customer_id"]

    listed = client.get("/api/v1/customers", headers=admin, params={"q": "RUI@Example.com"}).json()
    [row] = listed["items"]
    assert (row["id"], row["email"], row["orders"], row["revenue"]) == (
        me,
        "rui@example.com",
        2,
        5500,
    )

    profile = client.get(f"/api/v1/customers/{me}", headers=admin).json()
    assert profile["figures"]["orders"] == 2
    assert profile["figures"]["revenue"] == 2500 + 4000 - 1000
    assert profile["figures"]["revenue_by_currency"] == [{"currency": "USD", "amount": 5500}]
    assert {(c["kind"], c["value"]) for c in profile["contact_points"]} == {
        ("email", "rui@example.com"),
        ("platform", "u1"),
    }
    assert profile["addresses"][0]["city"] == "Lisboa"
    assert [c["kind"] for c in profile["channels"]] == ["tiktok"]

    changed = client.patch(
        f"/api/v1/customers/{me}",
        headers=admin,
        json={"tags": ["vip", "wholesale"], "notes": "Call before shipping", "language": "pt-PT"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["tags"] == ["vip", "wholesale"]
    bad = client.patch(f"/api/v1/customers/{me}", headers=admin, json={"language": "not a tag!"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.language"

    timeline = client.get(f"/api/v1/customers/{me}/timeline", headers=admin).json()
    assert [e["kind"] for e in timeline] == ["order", "order"]
    assert client.get("/api/v1/customers/cus_nope", headers=admin).status_code == 404


def test_consent_withdrawn_is_in_force_at_once_and_history_is_kept(client, admin, sessions):
    me = order(sessions, email="ana@example.com", name="Ana")["customer_id"]
    path = f"/api/v1/customers/{me}/consents"
    words = "Send me offers on WhatsApp"
    agreed = client.post(
        path,
        headers=admin,
        json={"purpose": "marketing", "channel": "whatsapp", "granted": True, "wording": words},
    )
    assert agreed.status_code == 201, agreed.text
    [current] = client.get(f"/api/v1/customers/{me}", headers=admin).json()["consent"]
    assert (current["granted"], current["wording"], current["source"]) == (True, words, "api")
    client.post(
        path,
        headers=admin,
        json={"purpose": "marketing", "channel": "whatsapp", "granted": False, "wording": "STOP"},
    )
    [current] = client.get(f"/api/v1/customers/{me}", headers=admin).json()["consent"]
    assert current["granted"] is False
    history = client.get(path, headers=admin).json()
    assert [h["granted"] for h in history] == [False, True]
    wrong = client.post(
        path, headers=admin, json={"purpose": "marketing", "granted": True, "wording": "x"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "channel"


def test_segments_list_their_members_now(client, admin, sessions):
    big = order(sessions, email="big@example.com", total=90_000)["customer_id"]
    order(sessions, email="big@example.com", total=10_000)
    small = order(sessions, email="small@example.com", total=1_000, country="BR")["customer_id"]
    client.patch(f"/api/v1/customers/{small}", headers=admin, json={"tags": ["vip"]})

    made_names: list[str] = []

    def members(filters: dict) -> set[str]:
        made_names.append(f"segment {len(made_names)}")
        made = client.post(
            "/api/v1/segments", headers=admin, json={"name": made_names[-1], "filters": filters}
        )
        assert made.status_code == 201, made.text
        page = client.get(f"/api/v1/segments/{made.json()['id']}/members", headers=admin)
        return {p["id"] for p in page.json()["items"]}

    assert members({"min_orders": 2}) == {big}
    assert members({"min_revenue": 50_000}) == {big}
    assert members({"max_revenue": 5_000}) == {small}
    assert members({"tags": ["vip"]}) == {small}
    assert members({"countries": ["BR"]}) == {small}
    assert members({"consent": [{"purpose": "marketing", "channel": "email"}]}) == set()
    client.post(
        f"/api/v1/customers/{big}/consents",
        headers=admin,
        json={"purpose": "marketing", "channel": "email", "granted": True, "wording": "Yes"},
    )
    assert members({"consent": [{"purpose": "marketing", "channel": "email"}]}) == {big}
    # Another person agreeing later leaves the first one's consent standing.
    client.post(
        f"/api/v1/customers/{small}/consents",
        headers=admin,
        json={"purpose": "marketing", "channel": "email", "granted": True, "wording": "Yes"},
    )
    assert members({"consent": [{"purpose": "marketing", "channel": "email"}]}) == {big, small}
    taken = client.post("/api/v1/segments", headers=admin, json={"name": "segment 0"})
    assert taken.status_code == 409


def test_merge_unmerge_and_suggestions_through_the_api(client, admin, sessions):
    one = order(sessions, email="x@example.com")["customer_id"]
    two = order(sessions, email="y@example.com")["customer_id"]
    merged = client.post(
        f"/api/v1/customers/{one}/merges",
        headers=admin,
        json={"other_id": two, "reason": "the same person, said on the phone"},
    )
    assert merged.status_code == 201, merged.text
    assert merged.json()["rule"] == "manual" and merged.json()["actor"].startswith("token:")
    assert client.get(f"/api/v1/customers/{two}", headers=admin).json()["id"] == one
    again = client.post(
        f"/api/v1/customers/{one}/merges", headers=admin, json={"other_id": two, "reason": "x"}
    )
    assert again.status_code == 409
    undone = client.post(f"/api/v1/customers/merges/{merged.json()['id']}/undo", headers=admin)
    assert undone.status_code == 200 and undone.json()["status"] == "undone"
    assert client.get(f"/api/v1/customers/{two}", headers=admin).json()["id"] == two


def test_the_cli_lists_shows_merges_and_makes_segments(sessions, settings):
    me = order(sessions, email="cli@example.com", name="Cli Buyer")["customer_id"]
    other = order(sessions, email="cli2@example.com")["customer_id"]
    runner = CliRunner()
    listed = runner.invoke(cli, ["customers", "list", "--q", "cli@example.com"])
    assert listed.exit_code == 0 and me in listed.output
    shown = runner.invoke(cli, ["customers", "show", me])
    assert shown.exit_code == 0 and "cli@example.com" in shown.output
    merged = runner.invoke(cli, ["customers", "merge", me, other, "--reason", "same"])
    assert merged.exit_code == 0, merged.output
    edited = runner.invoke(cli, ["customers", "edit", me, "--tag", "vip"])
    assert edited.exit_code == 0, edited.output
    made = runner.invoke(
        cli, ["customers", "segments", "create", "vips", "--filters", '{"tags": ["vip"]}']
    )
    assert made.exit_code == 0, made.output
    segment_id = made.output.split("(")[1].split(")")[0]
    members = runner.invoke(cli, ["customers", "segments", "members", segment_id])
    assert members.exit_code == 0 and me in members.output
    wrong = runner.invoke(cli, ["customers", "merge", me, "cus_nope", "--reason", "x"])
    assert wrong.exit_code == 1 and "No customer" in wrong.output
