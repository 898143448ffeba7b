"""Reads and changes of a customer profile are in the audit log: who (the token, the
dashboard session's token, the CLI), what (the profile's id and which view), when; never
the person's email, phone or name."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from mercato.auth import service as auth_service
from mercato.cli import app
from mercato.db import transaction
from mercato.system.models import AuditEntry
from tests.customers.test_profiles_api import order

EMAIL, NAME, PHONE = "ines.audit@example.com", "Inês Auditada", "+351912345678"


def rows(sessions, subject: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.id)
            )
        )


def everything_logged(sessions) -> str:
    with sessions() as session:
        return " ".join(
            f"{e.actor} {e.action} {e.subject} {e.detail}"
            for e in session.scalars(select(AuditEntry))
        )


def test_each_view_of_a_profile_adds_one_row_naming_the_viewer(client, sessions, make_token):
    me = order(sessions, email=EMAIL, name=NAME, phone=PHONE, external_id="u-audit")
    profile = me["customer_id"]
    reader = make_token("customers:read")
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))

    assert client.get(f"/api/v1/customers/{profile}", headers=reader).status_code == 200
    [api_row] = rows(sessions, profile)
    assert (api_row.action, api_row.detail) == ("viewed", "profile (API)")
    assert api_row.actor.startswith("token test (")

    with transaction(sessions) as session:
        secret = auth_service.create_token(
            session, "front desk", ["customers:read", "privacy:read"]
        ).secret
    client.post("/admin/login", data={"token": secret}, follow_redirects=False)
    page = client.get(f"/admin/customers/{profile}")
    assert page.status_code == 200
    api_row_again, dashboard_row = rows(sessions, profile)
    assert api_row_again.id == api_row.id
    assert dashboard_row.action == "viewed"
    assert dashboard_row.actor.startswith("dashboard token front desk (")
    assert dashboard_row.detail == "profile page (dashboard)"
    # The page shows who read the profile to those who may read the privacy log.
    assert "Audit log" in page.text and "token test (" in page.text

    printed = CliRunner().invoke(app, ["customers", "show", profile])
    assert printed.exit_code == 0
    assert [e.actor for e in rows(sessions, profile)][-1] == "cli"

    with sessions() as session:
        after = session.scalar(select(func.count()).select_from(AuditEntry))
    assert after - before == 3  # one row per view, nothing else
    logged = everything_logged(sessions)
    for personal in (EMAIL, PHONE, NAME, "Inês", "ines.audit"):
        assert personal not in logged


def test_the_audit_log_by_subject_through_the_api_names_changes_without_values(
    client, sessions, admin
):
    first = order(sessions, email=EMAIL, name=NAME)["customer_id"]
    second = order(sessions, email="other.audit@example.com", name="Other")["customer_id"]
    edited = client.patch(
        f"/api/v1/customers/{first}", headers=admin, json={"name": "Inês A.", "notes": "VIP"}
    )
    assert edited.status_code == 200
    merged = client.post(
        f"/api/v1/customers/{first}/merges",
        headers=admin,
        json={"other_id": second, "reason": "same person, said on the phone"},
    ).json()
    client.post(f"/api/v1/customers/merges/{merged['id']}/undo", headers=admin)

    log = client.get("/api/v1/privacy/audit", headers=admin, params={"subject": first}).json()
    assert [(e["action"], e["detail"].split(" ")[0]) for e in log["items"]] == [
        ("changed", "unmerged"),
        ("changed", "merged"),
        ("changed", "profile:"),
    ]
    assert log["items"][-1]["detail"] == "profile: name, notes"
    assert all(e["actor"].startswith("token") for e in log["items"])  # the API token
    logged = everything_logged(sessions)
    for personal in (EMAIL, NAME, "Inês A.", "VIP", "other.audit@example.com"):
        assert personal not in logged
