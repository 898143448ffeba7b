"""Shopify CSV import throughput and memory.

Generates Shopify product CSVs (4 variants a product, HTML bodies, images, market
columns), imports each through the same path as `mercato import shopify` in a fresh
process on a fresh database, and prints variants/s and peak memory per size. Memory
must not grow with the file: compare the peaks of the small and the large file. The
CPU time of the import is printed too: on a busy machine it moves less than the wall time.

    python bench/import_catalog.py                      # SQLite, 20k and 100k variants
    python bench/import_catalog.py --db postgres --sizes 100000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIZES = "g", "kg", "oz", "lb"
HEADER = [
    "Handle",
    "Title",
    "Body (HTML)",
    "Vendor",
    "Type",
    "Tags",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Variant SKU",
    "Variant Grams",
    "Variant Inventory Tracker",
    "Variant Inventory Qty",
    "Variant Inventory Policy",
    "Variant Price",
    "Variant Compare At Price",
    "Variant Barcode",
    "Image Src",
    "Image Position",
    "Image Alt Text",
    "Google Shopping / Google Product Category",
    "Variant Image",
    "Variant Weight Unit",
    "Price / International",
    "Status",
]


def generate(path: Path, variants: int) -> None:
    colors, sizes = ("Black", "White"), ("S", "M")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for p in range(variants // 4):
            image = f"https://cdn.example.com/p{p}.jpg"
            for v, (color, size) in enumerate((c, s) for c in colors for s in sizes):
                first = v == 0
                writer.writerow(
                    [
                        f"product-{p}",
                        f"Product {p}" if first else "",
                        f"<p>Product {p},\nmade with care.</p>" if first else "",
                        "Acme" if first else "",
                        "Shirts" if first else "",
                        "bench, generated" if first else "",
                        "Color" if first else "",
                        color,
                        "Size" if first else "",
                        size,
                        f"SKU-{p}-{v}",
                        "250",
                        "shopify",
                        "10",
                        "deny",
                        "19.99",
                        "24.99" if v % 2 else "",
                        "",
                        image if v < 2 else "",
                        str(v + 1) if v < 2 else "",
                        "front" if v < 2 else "",
                        "212" if first else "",
                        image,
                        SIZES[v],
                        "21.50",
                        "active" if first else "",
                    ]
                )


def run_child(csv_path: str, database_url: str) -> None:
    """In a fresh process: migrate, import, print JSON figures."""
    os.environ["MERCATO_DATABASE_URL"] = database_url
    from mercato.catalog import shopify_csv
    from mercato.db import create_db_engine, make_sessionmaker, transaction
    from mercato.system import migrations

    engine = create_db_engine()
    migrations.upgrade(engine)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu_started = time.perf_counter(), time.process_time()
    with open(csv_path, "rb") as raw, transaction(make_sessionmaker(engine)) as session:
        stream, _ = shopify_csv.open_text(raw)
        report = shopify_csv.import_csv(session, stream, "USD")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "variants": report.variants,
                "products": report.products,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_rss_mb": peak / 1024,
                "growth_mb": (peak - baseline) / 1024,
            }
        )
    )


def fresh_database(kind: str, workdir: Path) -> tuple[str, callable]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"mercato_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sizes", default="20000,100000", help="comma-separated variant counts")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for size in (int(s) for s in args.sizes.split(",")):
            path = workdir / f"products-{size}.csv"
            generate(path, size)
            url, drop = fresh_database(args.db, workdir)
            try:
                child = subprocess.run(
                    [sys.executable, __file__, "--child", str(path), url],
                    capture_output=True,
                    text=True,
                )
            finally:
                drop()
            if child.returncode:
                sys.exit(f"import of {size} variants failed:\n{child.stderr}")
            out = child.stdout
            figures = json.loads(out.strip().splitlines()[-1])
            figures["file_mb"] = path.stat().st_size / 1e6
            results.append(figures)
            print(
                f"{args.db:8} {figures['variants']:>8} variants  {figures['file_mb']:6.1f} MB "
                f"file  {figures['seconds']:6.2f} s  "
                f"{figures['variants'] / figures['seconds']:8.0f} variants/s  "
                f"(CPU {figures['variants'] / figures['cpu_seconds']:5.0f}/s)  "
                f"peak RSS {figures['peak_rss_mb']:6.1f} MB "
                f"(+{figures['growth_mb']:.1f} MB during import)",
                flush=True,
            )
    if len(results) > 1:
        small, large = results[0], results[-1]
        print(
            f"file size ratio {large['file_mb'] / small['file_mb']:.1f}x, "
            f"peak memory ratio {large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        run_child(sys.argv[2], sys.argv[3])
    else:
        main()
