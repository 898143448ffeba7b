"""Stock in Shopify CSVs: "Variant Inventory Qty" sets on-hand units at the default
location for tracked variants, and the export writes them back."""

import csv
import io

from sqlalchemy import select

from mercato.db import transaction
from mercato.events.models import Event
from mercato.inventory import reports, reservations
from mercato.inventory.models import Movement
from mercato.inventory.schemas import ReservationLineInput
from tests.catalog.test_shopify_csv import TEMPLATE, export, run_import

SKUS = ["PNT_DEN_285", "PNT_DEN_305", "PNT_DEN_405", "HAT_GRY_275", "SRT_COT_111"]


def stock(sessions) -> dict[str, tuple[int, bool]]:
    with sessions() as session:
        return {
            sku: (view.on_hand, view.tracked)
            for sku in SKUS
            for view in [reports.inventory_by_sku(session, sku)]
        }


def movements(sessions) -> list[tuple[str, str, int]]:
    with sessions() as session:
        return sorted((m.kind, m.actor, m.on_hand_delta) for m in session.scalars(select(Movement)))


def test_template_quantities_become_stock_at_the_default_location(sessions):
    run_import(sessions, TEMPLATE.read_text(encoding="utf-8"))
    assert stock(sessions) == {
        "PNT_DEN_285": (20, True),
        "PNT_DEN_305": (15, True),
        "PNT_DEN_405": (10, True),
        "HAT_GRY_275": (50, True),
        "SRT_COT_111": (0, False),
    }
    assert movements(sessions) == [("correction", "import:shopify", d) for d in (10, 15, 20, 50)]
    with sessions() as session:
        assert reports.verify(session) == []
        changed = session.scalars(
            select(Event.payload["sku"].as_string()).where(Event.type == "inventory.changed")
        ).all()
    assert sorted(changed) == ["HAT_GRY_275", "PNT_DEN_285", "PNT_DEN_305", "PNT_DEN_405"]


def test_export_writes_on_hand_of_tracked_variants_only(sessions):
    run_import(sessions, TEMPLATE.read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO(export(sessions))))
    quantities = {r["Variant SKU"]: r["Variant Inventory Qty"] for r in rows if r["Variant SKU"]}
    assert quantities["PNT_DEN_285"] == "20" and quantities["HAT_GRY_275"] == "50"
    assert quantities["SRT_COT_111"] == ""


def test_reimport_writes_only_the_counts_that_changed(sessions):
    text = TEMPLATE.read_text(encoding="utf-8")
    run_import(sessions, text)
    run_import(sessions, text)
    assert len(movements(sessions)) == 4
    run_import(sessions, text.replace("HAT_GRY_275,72,shopify,50", "HAT_GRY_275,72,shopify,47"))
    assert movements(sessions)[0] == ("correction", "import:shopify", -3)
    assert stock(sessions)["HAT_GRY_275"] == (47, True)


def test_a_count_below_held_units_is_a_row_error_and_nothing_changes(sessions):
    text = TEMPLATE.read_text(encoding="utf-8")
    run_import(sessions, text)
    with transaction(sessions) as session:
        reservations.reserve(session, [ReservationLineInput(sku="HAT_GRY_275", quantity=5)])
    failure = None
    try:
        run_import(sessions, text.replace("HAT_GRY_275,72,shopify,50", "HAT_GRY_275,72,shopify,2"))
    except Exception as exc:  # noqa: BLE001 - the assertion below names what is expected
        failure = exc
    assert [e.message for e in failure.errors] == [
        'row 18, column "Variant Inventory Qty": 2 is fewer than the 5 units held for open '
        "reservations"
    ]
    assert stock(sessions)["HAT_GRY_275"] == (50, True)


def test_bad_and_negative_quantities(sessions):
    text = (
        "Handle,Title,Variant SKU,Variant Price,Variant Inventory Tracker,"
        "Variant Inventory Qty\n"
        "a,A,A-1,1,shopify,-2\n"
    )
    report = run_import(sessions, text)
    assert report.warnings == [
        'row 2: "Variant Inventory Qty" -2 is below zero; stock is set '
        "to 0 (backorders are not stock)"
    ]
    try:
        run_import(sessions, text.replace("-2", "2.5"))
    except Exception as exc:  # noqa: BLE001
        assert [e.message for e in exc.errors] == [
            'row 2, column "Variant Inventory Qty": "2.5" is not a whole number'
        ]
    else:
        raise AssertionError("a fractional quantity was accepted")


def test_new_and_existing_products_in_one_file(sessions):
    """Products created by the import and products it updates get the same stock rules,
    and inventory.changed follows variant id order."""
    header = (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,"
        "Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy\n"
    )
    run_import(sessions, header + "old,Old,Size,S,OLD-S,1,shopify,3,deny\n")
    report = run_import(
        sessions,
        header + "old,Old,Size,S,OLD-S,1,shopify,5,deny\n"
        "old,,,M,OLD-M,1,shopify,0,deny\n"
        "new,New,Size,S,NEW-S,1,shopify,-1,continue\n"
        "new,,,M,NEW-M,1,shopify,4,deny\n"
        "new,,,L,NEW-L,1,,9,deny\n",
    )
    assert (report.created, report.updated) == (1, 1)
    assert report.warnings == [
        'row 4: "Variant Inventory Qty" -1 is below zero; stock is '
        "set to 0 (backorders are not stock)"
    ]
    with sessions() as session:
        views = {
            sku: reports.inventory_by_sku(session, sku)
            for sku in ("OLD-S", "OLD-M", "NEW-S", "NEW-M", "NEW-L")
        }
        events = session.execute(
            select(Event.key, Event.payload["sku"].as_string())
            .where(Event.type == "inventory.changed")
            .order_by(Event.seq)
        ).all()
        assert reports.verify(session) == []
    assert {sku: (v.on_hand, [lv.location for lv in v.locations]) for sku, v in views.items()} == {
        "OLD-S": (5, ["default"]),
        "OLD-M": (0, ["default"]),
        "NEW-S": (0, ["default"]),
        "NEW-M": (4, ["default"]),
        "NEW-L": (0, []),
    }
    assert [sku for _, sku in events] == ["OLD-S", "OLD-S", "NEW-M"]
    assert [key for key, _ in events] == sorted(key for key, _ in events)
    assert movements(sessions) == [("correction", "import:shopify", d) for d in (2, 3, 4)]
