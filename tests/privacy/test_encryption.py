"""Personal data at rest: customers' email and phone and every identity's value are
stored encrypted under a master key named beside each value, looked up through a keyed
hash; a new master key takes over with ``mercato privacy rotate-keys`` while values
under the older one still read; the migration encrypts what was stored before and the
downgrade gives it back."""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, select, text
from typer.testing import CliRunner

from mercato.cli import app
from mercato.config import get_settings
from mercato.customers import identities
from mercato.customers import service as customers
from mercato.customers.identities import Claim
from mercato.customers.models import Customer, Identity
from mercato.db import create_db_engine, transaction
from mercato.system.migrations import alembic_config
from tests.customers.test_profiles_api import order

EMAIL, PHONE = "zoe.crypt@example.com", "+14155550199"


def raw(sessions, sql: str) -> list:
    with sessions() as session:
        return [tuple(r) for r in session.execute(text(sql))]


def use_keys(monkeypatch, *keys: tuple[str, bytes]) -> None:
    value = ",".join(f"{kid}:{base64.urlsafe_b64encode(k).decode()}" for kid, k in keys)
    monkeypatch.setenv("MERCATO_PII_KEYS", value)
    get_settings.cache_clear()


# Long enough never to turn up inside a ciphertext by chance (a three-letter one did).
ORDER_REF = "zoe-crypt-order-4417"


def test_contact_points_are_not_stored_in_clear_and_are_still_found(client, admin, sessions):
    made = order(sessions, email="Zoe.Crypt@Example.com", name="Zoe", external_id=ORDER_REF)
    with transaction(sessions) as session:
        kept = customers.remember(
            session,
            None,
            email=EMAIL,
            phone=PHONE,
            name="Zoe",
            address=None,
            provider=None,
            customer_ref=None,
            method_ref=None,
            method_label=None,
        )
        remembered = kept.id

    values = raw(sessions, "SELECT value, value_hash FROM customer_identities")
    assert values and all(v.startswith("pii1:s0:") and len(h) == 64 for v, h in values)
    [(email, phone, email_hash)] = raw(
        sessions, f"SELECT email, phone, email_hash FROM customers WHERE id = '{remembered}'"
    )
    assert email.startswith("pii1:s0:") and phone.startswith("pii1:s0:")
    assert EMAIL not in email and email_hash != EMAIL
    # Nothing in these two tables names them (orders: test_personal_fields_at_rest.py).
    stored = str(raw(sessions, "SELECT * FROM customers")) + str(
        raw(sessions, "SELECT * FROM customer_identities")
    )
    for personal in (EMAIL, PHONE, ORDER_REF, PHONE.lstrip("+")):
        assert personal not in stored.lower()

    with sessions() as session:  # read back in clear, found through the keyed hash
        assert session.get(Customer, remembered).email == EMAIL
        found = identities.owner(session, Claim("email", EMAIL))
        assert found is not None and found.id == made["customer_id"]
        # The same email typed again, in another case: the one remembered customer.
        assert session.scalar(select(Identity.value).where(Identity.kind == "email")) == EMAIL
    with transaction(sessions) as session:
        assert customers.request_login_link(session, " ZOE.crypt@example.com") is not None
        again = customers.remember(
            session,
            None,
            email="ZOE.CRYPT@example.com",
            phone=None,
            name=None,
            address=None,
            provider=None,
            customer_ref=None,
            method_ref=None,
            method_label=None,
        )
        assert again is None  # someone else's email: their details are not handed over

    searched = client.get("/api/v1/customers", headers=admin, params={"q": "ZOE.CRYPT@example.com"})
    assert made["customer_id"] in [p["id"] for p in searched.json()["items"]]
    asked = {"kind": "access", "regime": "gdpr", "email": EMAIL}
    request = client.post("/api/v1/privacy/requests", headers=admin, json=asked).json()
    with transaction(sessions) as session:
        from mercato.privacy import finding

        found = finding.find(session, {"email": [EMAIL]})
    assert found.count()["customer_identities"] >= 1 and found.count()["customers"] >= 1
    assert request["id"]


def test_a_new_master_key_takes_over_and_rotation_moves_every_value(
    settings, sessions, monkeypatch
):
    first, second = os.urandom(32), os.urandom(32)
    with transaction(sessions) as session:  # before any key is configured: the derived one
        old = identities.resolve(session, identities.Observation("api", [Claim("email", EMAIL)]))
    use_keys(monkeypatch, ("k1", first))
    with transaction(sessions) as session:
        mid = identities.resolve(
            session, identities.Observation("api", [Claim("phone", PHONE, verified=True)])
        )
    assert {v.split(":")[1] for (v,) in raw(sessions, "SELECT value FROM customer_identities")} == {
        "s0",
        "k1",
    }

    use_keys(monkeypatch, ("k2", second), ("k1", first))
    with transaction(sessions) as session:
        identities.resolve(session, identities.Observation("api", [Claim("platform", "u9", "x")]))
    with sessions() as session:  # every key still reads
        assert identities.owner(session, Claim("email", EMAIL)).id == old
        assert identities.owner(session, Claim("phone", PHONE)).id == mid
    status = CliRunner().invoke(app, ["privacy", "keys"])
    assert status.exit_code == 0 and "Current master key: k2" in status.output

    rotated = CliRunner().invoke(app, ["privacy", "rotate-keys"])
    assert rotated.exit_code == 0, rotated.output
    assert "customer_identities.value: 2 re-encrypted" in rotated.output
    stored = raw(sessions, "SELECT value FROM customer_identities")
    assert {v.split(":")[1] for (v,) in stored} == {"k2"}

    use_keys(monkeypatch, ("k2", second))  # the old key retired: everything still reads
    with sessions() as session:
        assert sorted(i.value for i in session.scalars(select(Identity))) == sorted(
            [EMAIL, PHONE, "u9"]
        )
    use_keys(monkeypatch, ("k3", os.urandom(32)))  # a key lost: reading says which
    with sessions() as session, pytest.raises(ValueError, match="'k2'"):
        list(session.scalars(select(Identity)))


@pytest.fixture
def scratch_url(database_url):
    """An empty database of the same kind as the test database, dropped after."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = f"{url.database}.{uuid.uuid4().hex[:8]}.db"
        yield f"sqlite:///{path}"
        os.remove(path)
        return
    name = f"mercato_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_migration_encrypts_what_was_stored_and_the_downgrade_restores_it(
    settings, scratch_url
):
    engine = create_db_engine(settings.model_copy(update={"database_url": scratch_url}))
    config = alembic_config(engine)
    try:
        command.upgrade(config, "0080")
        command.upgrade(config, "0070")  # where the customers' tables come from
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO customers (id, profile_id, email, phone, name, created_at, "
                    "updated_at) VALUES ('cus_1', 'cus_1', 'Ann@Example.com', :phone, 'Ann', "
                    ":now, :now)"
                ),
                {"phone": PHONE, "now": "2026-01-01 00:00:00+00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO customer_identities (id, customer_id, kind, scope, value, "
                    "verified, source, created_at) VALUES ('idn_1', 'cus_1', 'email', '', "
                    "'ann@example.com', :yes, 'api', :now)"
                ),
                {"yes": True, "now": "2026-01-01 00:00:00+00:00"},
            )
            connection.execute(
                text(
                    "INSERT INTO customer_tags (id, customer_id, tag, created_at) "
                    "VALUES ('ctg_1', 'cus_1', 'vip', :now)"
                ),
                {"now": "2026-01-01 00:00:00+00:00"},
            )
        command.upgrade(config, "0081")
        with engine.connect() as connection:
            email, phone, email_hash = connection.execute(
                text("SELECT email, phone, email_hash FROM customers")
            ).one()
            value, value_hash = connection.execute(
                text("SELECT value, value_hash FROM customer_identities")
            ).one()
            tags = connection.execute(text("SELECT count(*) FROM customer_tags")).scalar()
        assert email.startswith("pii1:") and phone.startswith("pii1:") and value.startswith("pii1:")
        assert tags == 1  # rows pointing at customers survive its rebuild
        from mercato.customers.models import email_key, value_key

        assert email_hash == email_key("ann@example.com") and value_hash == value_key(
            "ann@example.com"
        )
        command.downgrade(config, "0080")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT email, phone FROM customers")).one() == (
                "Ann@Example.com",
                PHONE,
            )
            assert connection.execute(text("SELECT value FROM customer_identities")).scalar() == (
                "ann@example.com"
            )
            assert connection.execute(text("SELECT count(*) FROM customer_tags")).scalar() == 1
    finally:
        engine.dispose()
