"""Shopify CSV import throughput and memory.

Generates Shopify product CSVs (4 variants a product, HTML bodies, images, market
columns), imports each through the same path as `mercato import shopify` in a fresh
process on a fresh database, and prints variants/s, time per variant and peak memory
per size. Time per variant and memory must not grow with the file: the last lines
compare each size with the smallest. The CPU time of the import (this process only,
not the database server's) and the load average are printed too: on a busy machine the
wall time moves with the neighbours.

    python bench/import_catalog.py                      # both databases, 10k, 100k, 1M
    python bench/import_catalog.py --db postgres --sizes 10000,100000
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
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated variant counts"
    )
    args = parser.parse_args()
    databases = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        files = {}
        for size in (int(s) for s in args.sizes.split(",")):
            files[size] = workdir / f"products-{size}.csv"
            generate(files[size], size)
        for database in databases:
            run_sizes(database, files, workdir)


def run_sizes(database: str, files: dict[int, Path], workdir: Path) -> None:
    results = []
    for size, path in files.items():
        url, drop = fresh_database(database, workdir)
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
        figures["us_per_variant"] = figures["seconds"] / figures["variants"] * 1e6
        results.append(figures)
        print(
            f"{database:8} {figures['variants']:>8} variants  {figures['file_mb']:6.1f} MB "
            f"file  {figures['seconds']:7.2f} s  "
            f"{figures['variants'] / figures['seconds']:6.0f} variants/s  "
            f"{figures['us_per_variant']:5.0f} µs/variant  "
            f"(CPU {figures['variants'] / figures['cpu_seconds']:5.0f}/s)  "
            f"peak RSS {figures['peak_rss_mb']:6.1f} MB "
            f"(+{figures['growth_mb']:.1f} MB during import)  "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    small = results[0]
    for large in results[1:]:
        print(
            f"{database:8} {large['variants']} vs {small['variants']}: time per variant "
            f"{large['us_per_variant'] / small['us_per_variant']:.2f}x, "
            f"peak memory {large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        run_child(sys.argv[2], sys.argv[3])
    else:
        main()
