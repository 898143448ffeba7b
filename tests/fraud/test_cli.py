"""`mercato fraud ...` and deciding a held order from `mercato orders ...`."""

from __future__ import annotations

from typer.testing import CliRunner

from mercato.cli import app
from mercato.fraud import service as fraud
from tests.checkout.helpers import make_shop
from tests.fraud.test_screening import _buy, _configure

runner = CliRunner()


def mercato(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_settings_from_the_command_line(engine, sessions):
    saved = mercato(
        "fraud", "set", "--hold-at", "40", "--weight", "velocity_device=55", "--limit",
        "velocity_device=4",
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    assert "hold at 40" in saved.output
    shown = mercato("fraud", "settings").output
    assert "weight velocity_device: 55" in shown and "limit velocity_device: 4" in shown
    refused = mercato("fraud", "set", "--weight", "velocity_moon=5")
    assert refused.exit_code == 1 and "velocity_moon" in refused.output
    not_number = mercato("fraud", "set", "--weight", "velocity_ip=lots")
    assert not_number.exit_code == 1 and "RULE=NUMBER" in not_number.output
    with sessions() as session:
        assert fraud.get_settings(session).weights["velocity_device"] == 55


def test_first_order_amounts_per_currency_from_the_command_line(engine, sessions):
    saved = mercato("fraud", "set", "--first-order-amount-in", "JPY=30000")
    assert saved.exit_code == 0, saved.output
    assert "first order above in JPY: 30000" in mercato("fraud", "settings").output
    removed = mercato("fraud", "set", "--first-order-amount-in", "JPY=")
    assert removed.exit_code == 0, removed.output
    with sessions() as session:
        assert fraud.get_settings(session).first_order_amounts == {}
    refused = mercato("fraud", "set", "--first-order-amount-in", "QQQ=5")
    assert refused.exit_code == 1 and "QQQ" in refused.output


def test_reviews_listed_and_decided(client, sessions, admin):
    make_shop(sessions, on_hand=5, price=2500)
    _configure(client, admin, hold_at=30)
    _buy(client, "x@mailinator.com", "d1", key="c1")
    _buy(client, "y@mailinator.com", "d2", key="c2")
    listed = mercato("fraud", "reviews")
    assert listed.exit_code == 0 and "throw-away email domain" in listed.output
    with sessions() as session:
        first, second = (a.id for a in fraud.held(session))
    approved = mercato("orders", "approve-review", first, "--note", "regular")
    assert approved.exit_code == 0 and "approved" in approved.output, approved.output
    cancelled = mercato("orders", "cancel-review", second)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output, cancelled.output
    shown = mercato("fraud", "show", first).output
    assert "cli: approve — regular" in shown
