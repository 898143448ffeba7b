"""Files of many batches: what the import reports, refuses and leaves behind when a
problem is in a later batch than the row it clashes with, or only the database finds it."""

from __future__ import annotations

import pytest

from mercato.catalog import shopify_csv
from tests.catalog.test_shopify_csv import counts, expect_rejection, run_import

HEADER = (
    "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,"
    "Variant Inventory Tracker,Variant Inventory Qty\n"
)
# Product 21, ten batches after products 2 and 3, has a variant of each of their SKUs.
CLASH = {21: ["B-2", "B-3"]}


def catalog(products: int, clash=None, price=lambda p: "5.00") -> str:
    rows = []
    for p in range(products):
        skus = (clash or {}).get(p, [f"B-{p}"])
        rows.append(f"batch-{p},Product {p},Size,S,{skus[0]},{price(p)},shopify,3\n")
        rows += [f"batch-{p},,,M,{sku},{price(p)},shopify,3\n" for sku in skus[1:]]
    return HEADER + "".join(rows)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(shopify_csv, "BATCH_PRODUCTS", 2)


def test_many_batches_import_everything_once(sessions):
    report = run_import(sessions, catalog(25))
    assert (report.created, report.variants, report.rows, report.error_count) == (25, 25, 25, 0)
    assert counts(sessions) == (25, 25, 0)


def test_a_sku_of_an_earlier_batch_is_a_row_error_and_nothing_is_written(sessions):
    failure = expect_rejection(sessions, catalog(25, clash=CLASH))
    assert [e.message for e in failure.errors] == [
        'row 23, column "Variant SKU": these SKUs belong to different products: batch-2, batch-3',
        "row 23, column \"Variant SKU\": SKU 'B-2' is already used by product 'batch-2'",
        "row 24, column \"Variant SKU\": SKU 'B-3' is already used by product 'batch-3'",
    ]


def test_errors_of_reading_and_of_saving_are_reported_together_by_row(sessions):
    failure = expect_rejection(
        sessions,
        catalog(
            25,
            clash=CLASH,
            price=lambda p: "cheap" if p == 17 else "5.00",
        ),
    )
    assert [e.loc for e in failure.errors] == [
        ("rows", 19, "Variant Price"),
        ("rows", 23, "Variant SKU"),
        ("rows", 23, "Variant SKU"),
        ("rows", 24, "Variant SKU"),
    ]


def test_skip_invalid_counts_errors_of_reading_and_of_saving(sessions):
    report = run_import(
        sessions,
        catalog(
            25,
            clash=CLASH,
            price=lambda p: "cheap" if p == 17 else "5.00",
        ),
        skip_invalid=True,
    )
    assert (report.created, report.skipped, report.error_count) == (23, 2, 4)
    assert [e.row for e in report.errors] == [19, 23, 23, 24]
    assert report.variants == 23 and counts(sessions) == (23, 23, 0)


def test_a_failure_while_saving_stops_the_import_and_leaves_nothing(sessions, monkeypatch):
    save, calls = shopify_csv._save_batch, []

    def failing(session, batch, report, skip_invalid):
        calls.append(len(batch))
        if len(calls) == 4:
            raise RuntimeError("the database went away")
        save(session, batch, report, skip_invalid)

    monkeypatch.setattr(shopify_csv, "_save_batch", failing)
    before = counts(sessions)
    with pytest.raises(RuntimeError, match="went away"):
        run_import(sessions, catalog(200))
    assert counts(sessions) == before
    assert len(calls) == 4
    monkeypatch.setattr(shopify_csv, "_save_batch", save)
    assert run_import(sessions, catalog(3)).created == 3
