"""Return per offer, code and creator from the ledgers, formulas shown; the CLI."""

from __future__ import annotations

import csv
import io

from typer.testing import CliRunner

from mercato.cli import app
from tests.analytics.ledger_helpers import dispatch
from tests.checkout.helpers import complete, fill, make_shop, start

runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _buy(client, **extra) -> dict:
    body = start(client, (("HOODIE-M", 2),), **extra)
    shown = fill(client, body["token"], shipping_rate="us-standard")
    paid = complete(client, body["token"], key=body["token"][:12], total=shown["total"])
    assert paid.status_code == 200, paid.text
    return shown


def test_roi_per_code_and_creator_adds_up_from_the_ledgers(
    client, admin, make_token, sessions, drain
):
    make_shop(sessions, on_hand=10)
    creator = client.post(
        "/api/v1/creators",
        headers=admin,
        json={"handle": "ada", "name": "Ada", "commission": {"kind": "percentage", "value": 1000}},
    ).json()
    client.post(
        f"/api/v1/creators/{creator['id']}/codes",
        headers=admin,
        json={"code": "ADA15", "value": 15},
    )
    shown = _buy(client, discount_code="ADA15")
    till = make_token("pos:write")
    ticket = {
        "code": "ADA15",
        "location_id": "shop",
        "ticket": "T1",
        "subtotal": 10000,
        "currency": "USD",
    }
    assert client.post("/api/v1/pos/redemptions", headers=till, json=ticket).status_code == 201
    drain()
    dispatch(sessions)

    by_code = client.get("/api/v1/creators/roi?by=code", headers=admin).json()
    assert set(by_code["formulas"]) >= {"revenue", "discount_cost", "commission", "net", "roi"}
    [row] = by_code["rows"]
    # The online order's total (from the ledger's purchase touch) and the till's ticket.
    assert row["redemptions"] == 2 and row["orders"] == 1
    assert row["revenue"] == shown["total"] + 10000 - 1500
    assert row["discount_cost"] == shown["discount_total"] + 1500
    assert row["commission"] == 425  # 10% of the online order's 42.50 of items
    assert row["net"] == row["revenue"] - row["discount_cost"] - row["commission"]
    [mine] = client.get("/api/v1/creators/roi?by=creator", headers=admin).json()["rows"]
    assert mine["key"] == creator["id"] and mine["commission"] == 425

    printed = cli("offers", "roi", "--by", "creator")
    assert printed.exit_code == 0 and "Ada" in printed.output and "net:" in printed.output


def test_offers_cli_makes_an_offer_and_bulk_codes(engine, tmp_path):
    made = cli(
        "offers", "create", "Flyer", "--kind", "percentage", "--value", "20", "--code", "flyer"
    )
    assert made.exit_code == 0, made.output
    offer_id = made.output.split()[0]
    out = tmp_path / "codes.csv"
    codes = cli("offers", "codes", offer_id, "--count", "500", "--prefix", "FL-", "--out", out)
    assert codes.exit_code == 0, codes.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 500 and all(r["code"].startswith("FL-") for r in rows)
    listed = cli("offers", "list")
    assert "Flyer" in listed.output and "percentage" in listed.output
    bad = cli("offers", "create", "Bad", "--kind", "percentage", "--value", "150")
    assert bad.exit_code != 0


def test_offers_cli_says_what_an_offer_combines_with(engine):
    made = cli(
        "offers",
        "create",
        "Ship",
        "--kind",
        "free_shipping",
        "--code",
        "shipcli",
        "--combines-with",
        "product",
        "--combines-with",
        "order",
    )
    assert made.exit_code == 0, made.output
    listed = cli("offers", "list")
    assert "shipping" in listed.output and "product, order" in listed.output
    wrong = cli("offers", "create", "X", "--kind", "fixed", "--combines-with", "everything")
    assert wrong.exit_code != 0
