"""Stock through the Shopify CSV import over the API: "Variant Inventory Qty" sets stock,
so a token needs inventory:write besides catalog:write to send a file that fills it."""

import csv
import io

import pytest
from sqlalchemy import func, select

from mercato.catalog import shopify_csv
from mercato.catalog.models import Product, Variant
from mercato.events.models import Event
from mercato.inventory import reports
from mercato.inventory.models import Movement
from tests.catalog.test_shopify_csv import TEMPLATE, run_import

URL = "/api/v1/products/import/shopify"
QTY = "Variant Inventory Qty"


def template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def with_quantities(text: str, fill) -> str:
    """``text`` with each row's quantity cell replaced by ``fill(row)``."""
    rows = list(csv.DictReader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, QTY: fill(row)})
    return out.getvalue()


def upload(client, headers, text: str, **params):
    return client.post(
        URL,
        headers=headers,
        params=params,
        files={"file": ("products.csv", text.encode(), "text/csv")},
    )


def written(sessions) -> tuple[int, int, int, int]:
    """Products, variants, stock movements and events in the database."""
    with sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (Product, Variant, Movement, Event)
        )


def on_hand(sessions, sku: str) -> int:
    with sessions() as session:
        return reports.inventory_by_sku(session, sku).on_hand


@pytest.fixture
def catalog_only(make_token):
    return make_token("catalog:write")


@pytest.mark.parametrize("dry_run", [False, True])
def test_quantities_without_inventory_write_are_403_and_nothing_is_written(
    client, sessions, catalog_only, dry_run
):
    response = upload(client, catalog_only, template(), dry_run=str(dry_run).lower())
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/forbidden"
    assert problem["required_scope"] == "inventory:write"
    assert "'inventory:write'" in problem["detail"] and QTY in problem["detail"]
    # Every row of Shopify's template fills the column (untracked variants with "0")
    # except the image-only row 17.
    rows = [*range(2, 17), 18]
    assert [e["loc"] for e in problem["errors"]] == [["rows", r, QTY] for r in rows]
    assert problem["errors"][0]["message"] == (
        f"row 2, column \"{QTY}\": setting stock needs the 'inventory:write' scope"
    )
    assert written(sessions) == (0, 0, 0, 0)


def test_refused_after_batches_were_written_keeps_nothing(
    client, sessions, catalog_only, monkeypatch
):
    """A quantity on the last product, after earlier batches went to the database:
    the products saved before it are taken back too, and existing stock is untouched."""
    run_import(sessions, template())  # the operator's import: stock 50 on the hat
    before = written(sessions)
    monkeypatch.setattr(shopify_csv, "BATCH_PRODUCTS", 1)
    header = f"Handle,Title,Variant SKU,Variant Price,Variant Inventory Tracker,{QTY}\n"
    text = (
        header
        + "new-a,New A,NEW-A,1,shopify,\n"
        + "new-b,New B,NEW-B,1,shopify,\n"
        + "example-hat,Hat renamed,HAT_GRY_275,1,shopify,7\n"
    )
    response = upload(client, catalog_only, text)
    assert response.status_code == 403, response.text
    assert [e["loc"] for e in response.json()["errors"]] == [["rows", 4, QTY]]
    assert written(sessions) == before
    assert on_hand(sessions, "HAT_GRY_275") == 50
    with sessions() as session:
        assert session.scalar(select(Product.title).where(Product.handle == "example-hat")) == (
            "Example Beanie"
        )


def test_an_unreadable_quantity_is_still_a_stock_cell(client, sessions, catalog_only):
    text = f"Handle,Title,Variant SKU,Variant Price,{QTY}\na,A,A-1,1,lots\n"
    response = upload(client, catalog_only, text)
    assert response.status_code == 403, response.text
    assert written(sessions) == (0, 0, 0, 0)


def test_a_long_refusal_lists_a_report_s_worth_of_rows(client, sessions, catalog_only):
    limit = shopify_csv.MAX_REPORTED_ERRORS
    lines = [f"p{i},P{i},P-{i},1,3\n" for i in range(limit + 50)]
    text = f"Handle,Title,Variant SKU,Variant Price,{QTY}\n" + "".join(lines)
    response = upload(client, catalog_only, text)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert len(problem["errors"]) == limit
    shown = "2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ..."
    assert f"filled in at least {limit} row(s) ({shown})" in problem["detail"]
    assert written(sessions) == (0, 0, 0, 0)


def test_the_same_file_without_quantities_imports(client, sessions, catalog_only):
    response = upload(client, catalog_only, with_quantities(template(), lambda row: ""))
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["variants"]) == (3, 16)
    products, variants, movements, _ = written(sessions)
    assert (products, variants, movements) == (3, 16, 0)
    assert on_hand(sessions, "PNT_DEN_285") == 0


def test_an_update_without_quantities_keeps_stock(client, sessions, catalog_only):
    run_import(sessions, template())
    text = with_quantities(template(), lambda row: "").replace("Example Beanie", "Grey Beanie")
    response = upload(client, catalog_only, text)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == 1
    assert on_hand(sessions, "HAT_GRY_275") == 50
    with sessions() as session:
        assert session.scalar(select(Product.title).where(Product.handle == "example-hat")) == (
            "Grey Beanie"
        )


@pytest.mark.parametrize("scopes", [("catalog:write", "inventory:write"), ("admin",)])
def test_a_token_with_inventory_write_sets_stock(client, sessions, make_token, scopes):
    response = upload(client, make_token(*scopes), template())
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 3
    assert {sku: on_hand(sessions, sku) for sku in ("PNT_DEN_285", "HAT_GRY_275")} == {
        "PNT_DEN_285": 20,
        "HAT_GRY_275": 50,
    }
    with sessions() as session:
        actors = set(session.scalars(select(Movement.actor)))
    assert actors == {"import:shopify"}


def test_the_operator_import_needs_no_scope(sessions):
    """The CLI and the demo call the import with no token: the operator may set stock."""
    run_import(sessions, template())
    assert on_hand(sessions, "PNT_DEN_405") == 10
