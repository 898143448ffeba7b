"""`mercato demo`: the whole story on the embedded setup, with the platform simulators.

Each step is a function over the real services and the real HTTP API; the demo adds no
shortcuts of its own, so what it shows is what a merchant gets.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import uvicorn
from sqlalchemy import func, select

from mercato.analytics import attribution_ledger, kpis
from mercato.analytics.attribution import Options
from mercato.analytics.models import Touch
from mercato.analytics.reports import currency as store_currency
from mercato.analytics.reports import store_zone
from mercato.analytics.schemas import LinkParams
from mercato.auth import service as auth_service
from mercato.catalog import service as catalog
from mercato.catalog import shopify_csv
from mercato.catalog.schemas import ProductUpdate
from mercato.channels import check as channel_check
from mercato.channels import service as channels
from mercato.channels import sync
from mercato.channels.schemas import ChannelCreate
from mercato.channels.target import Target
from mercato.checkout.service import attribution_from_link
from mercato.config import get_settings
from mercato.creators import service as creators
from mercato.creators.models import Commission
from mercato.creators.schemas import CreatorCodeCreate, CreatorCreate
from mercato.db import create_db_engine, make_sessionmaker, transaction
from mercato.demo import catalog as demo_catalog
from mercato.inventory import counts as inventory
from mercato.inventory import reports
from mercato.live import service as live
from mercato.live.schemas import LiveEventCreate, PinInput, PoolsInput, VariantRef
from mercato.money import format_plain
from mercato.orders import fulfillment, queries
from mercato.orders.models import Order
from mercato.orders.schemas import FulfillmentCreate
from mercato.system import migrations

MARKER = ".mercato-demo"
TEMPLATE = Path(__file__).parent / "data" / "shopify_product_template.csv"
PUBLIC_URL = "https://shop.example.com"
ADDRESS = {
    "name": "Demo Buyer",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}
# What each simulated platform needs to accept a connection.
CONNECTIONS = {
    "meta": ({"access_token": "demo-meta-token"}, {"catalog_id": "demo-catalog"}),
    "google": (
        # An OAuth client; google-auth mints tokens at the simulator's token endpoint.
        {
            "client_id": "demo.apps.googleusercontent.com",
            "client_secret": "demo-secret",
            "refresh_token": "1//demo-refresh",
            "token_uri": "{sandbox}/google/token",
        },
        {"account_id": "1234567", "data_source_id": "demo-feed"},
    ),
    # The app the TikTok Shop simulator knows (PLATFORMS.md's signing example); the shop
    # cipher and the warehouse are read from the shop. A TikTok order for stock already
    # sold elsewhere is cancelled on TikTok (out of stock), not left on hold.
    "tiktok": (
        {
            "app_key": "29a39d",
            "app_secret": "e59af819cc",
            "access_token": "demo-tiktok-token",
            "refresh_token": "demo-tiktok-refresh-token",
        },
        {"category_id": "601226", "oversold_policy": "cancel"},
    ),
    "pinterest": ({"access_token": "demo-pinterest-token"}, {"catalog_mode": "api"}),
}


class DemoError(Exception):
    pass


@dataclass
class Story:
    data_dir: Path
    engine: object = None
    sessions: object = None
    token: str = ""
    products: list = field(default_factory=list)
    channel_ids: dict[str, str] = field(default_factory=dict)
    sandbox_url: str = ""
    api_url: str = ""
    servers: list = field(default_factory=list)
    live_event_id: str = ""

    def stop(self) -> None:
        for server in self.servers:
            server.should_exit = True


# ---------------------------------------------------------------- set-up


def prepare(data_dir: Path) -> Story:
    """A fresh embedded Mercato in ``data_dir`` (only ever a demo's own folder is wiped)."""
    data_dir = data_dir.resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise DemoError(
                f"{data_dir} is not empty and not a demo folder; pick another with --data-dir"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("created by mercato demo; deleted by the next run\n")
    os.environ["MERCATO_DATA_DIR"] = str(data_dir)
    os.environ["MERCATO_BASE_URL"] = PUBLIC_URL
    # The platforms and the payment stand-in are simulators on this machine.
    os.environ["MERCATO_ALLOW_LOCAL_URLS"] = "1"
    # The drop's buyers (and their browsers' analytics touches) all come from this
    # machine's address.
    os.environ["MERCATO_CHECKOUT_STARTS_PER_MINUTE"] = "0"
    os.environ["MERCATO_DROP_TRIES_PER_10S"] = "0"
    os.environ["MERCATO_ANALYTICS_TOUCHES_PER_MINUTE"] = "0"
    for name in ("MERCATO_DATABASE_URL", "MERCATO_SECRET_KEY"):
        os.environ.pop(name, None)
    get_settings.cache_clear()
    story = Story(data_dir)
    story.engine = create_db_engine()
    migrations.upgrade(story.engine)
    story.sessions = make_sessionmaker(story.engine)
    with transaction(story.sessions) as session:
        story.token = auth_service.create_token(session, "demo admin", ["admin"]).secret
    return story


def seed_catalog(story: Story, drop_stock: int) -> dict:
    """Generated products plus Shopify's own template, imported the real way; stock."""
    story.products = demo_catalog.generate()
    with transaction(story.sessions) as session:
        catalog.upsert_products(session, story.products)
        with TEMPLATE.open("rb") as raw:
            stream, _ = shopify_csv.open_text(raw)
            report = shopify_csv.import_csv(session, stream, "USD")
        counts, rng = {}, 11
        for product in catalog.iter_products(session):
            for variant in product.variants:
                if variant.inventory_tracked and variant.sku != demo_catalog.DROP_SKU:
                    rng = (rng * 48271) % 2147483647
                    counts[variant.id] = 5 + rng % 40
        drop = catalog.get_variant_by_sku(session, demo_catalog.DROP_SKU)
        counts[drop.id] = drop_stock
        inventory.set_on_hand(session, counts, reason="demo stock count", actor="demo")
    variants = sum(len(p.variants) for p in story.products) + report.variants
    return {
        "products": len(story.products) + report.products,
        "variants": variants,
        "imported_from_shopify_csv": report.products,
    }


def _serve(app, port: int = 0) -> tuple[str, uvicorn.Server]:
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise DemoError(f"could not start a server on 127.0.0.1:{port}")
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server


def start_simulators(story: Story) -> None:
    from mercato.sandbox.app import create_app as create_sandbox

    story.sandbox_url, server = _serve(create_sandbox())
    story.servers.append(server)
    # TikTok Shop takes image files: the demo catalog's images come from the simulators'
    # image host.
    os.environ["MERCATO_MEDIA_ORIGIN"] = f"{story.sandbox_url}/cdn"
    get_settings.cache_clear()


def start_mercato(story: Story) -> None:
    """`mercato serve` as on a laptop: the API with its in-process worker."""
    from mercato.app import create_app

    story.api_url, server = _serve(create_app(engine=story.engine, run_worker=True))
    story.servers.append(server)


def connect_channels(story: Story) -> list[str]:
    with transaction(story.sessions) as session:
        for kind, (credentials, settings) in CONNECTIONS.items():
            channel = channels.create_channel(
                session,
                ChannelCreate(
                    kind=kind,
                    name=f"{kind}-us",
                    country="US",
                    language="en",
                    currency="USD",
                    base_url=f"{story.sandbox_url}/{kind}",
                    credentials={
                        k: v.format(sandbox=story.sandbox_url) for k, v in credentials.items()
                    },
                    settings=settings,
                ),
            )
            story.channel_ids[kind] = channel.id
    return list(story.channel_ids)


# ---------------------------------------------------------------- catalog


@dataclass
class CheckFigures:
    channel: str
    checked: int
    rejected: int
    warned: int
    reasons: list[tuple[str, int]]


def check_all(story: Story) -> list[CheckFigures]:
    """The pre-publish check of every platform: what each would reject, and why."""
    figures = []
    with story.sessions() as session:
        for kind, channel_id in story.channel_ids.items():
            report = channel_check.check(
                session, Target.of(channels.get_channel(session, channel_id)), statuses=("active",)
            )
            reasons = Counter(
                i["field"] for p in report.flagged for i in p.issues if i["severity"] == "error"
            )
            figures.append(
                CheckFigures(
                    kind,
                    report.checked,
                    report.errors,
                    len(report.flagged) - report.errors,
                    reasons.most_common(3),
                )
            )
    return figures


def fix_what_can_be_fixed(story: Story) -> int:
    with transaction(story.sessions) as session:
        for handle, change in demo_catalog.fixes(story.products).items():
            product = catalog.get_product_by_handle(session, handle)
            catalog.update_product(session, product.id, ProductUpdate(**change))
    return len(demo_catalog.fixes(story.products))


@dataclass
class PublishFigures:
    channel: str
    sent: int
    verdicts: dict[str, int]


def publish_all(story: Story) -> list[PublishFigures]:
    """Push to every platform, then read back each item's verdict from the platform."""
    figures = []
    for kind, channel_id in story.channel_ids.items():
        result = sync.publish(story.sessions, channel_id)
        sync.read_back(story.sessions, channel_id)
        with transaction(story.sessions) as session:
            verdicts = channels.verdict_counts(session, channel_id)
        figures.append(PublishFigures(kind, result.sent, verdicts))
    return figures


# ---------------------------------------------------------------- the drop


@dataclass
class DropFigures:
    stock: int
    buyers: int
    sold: int
    oversold: int
    refused: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    on_hand_after: int
    ledger_balanced: bool
    tiktok_orders: int = 0
    tiktok_webhooks: int = 0
    # TikTok buyers the shop turned away: sold out on TikTok (the stock it was given).
    tiktok_refused: int = 0
    # TikTok orders for pairs sold elsewhere before TikTok's stock caught up: cancelled on
    # TikTok as out of stock (the channel's oversold policy), or left on hold.
    tiktok_cancelled: int = 0
    flagged: int = 0
    by_channel: dict[str, int] = field(default_factory=dict)
    # The live event the drop ran as, and the pairs each channel sold from its pool.
    live_event_id: str = ""
    pools_sold: dict[str, int] = field(default_factory=dict)

    @property
    def orders_per_second(self) -> float:
        return self.sold / self.seconds if self.seconds else 0.0


# The links the drop's storefront buyers followed, as the shop's pages receive them
# ("direct": the shop's address typed in), and each buyer's path through them in turn:
# the last one is the link they bought through.
LINKS = {
    "instagram": {"ch": "instagram", "post": "teaser-reel"},
    "pinterest": {"ch": "pinterest", "post": "drop-pin"},
    "google": {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "drop"},
    "tiktok": {"ch": "tiktok", "ref": "@sneakerhead", "post": "live-0", "utm_campaign": "drop"},
    "direct": {},
}
PATHS = (
    ("instagram", "tiktok"),
    ("tiktok",),
    ("pinterest", "direct"),
    ("google", "instagram", "tiktok"),
    ("instagram", "direct"),
)


# The TikTok live's host (the "ref" of its link) is a creator with a code of their own.
CREATOR = "sneakerhead"
CREATOR_CODE = "SNEAKER10"


@dataclass
class CreatorFigures:
    handle: str
    code: str
    page_url: str
    orders: int
    by_code: int
    revenue: str
    earnings: str


def enrol_creator(story: Story) -> str:
    """The live's host as a creator (10% of their sales) with a 10% code; their private
    page's link."""
    with transaction(story.sessions) as session:
        creator, token = creators.create(
            session,
            CreatorCreate(
                handle=CREATOR,
                name="Sneakerhead (TikTok live)",
                commission={"kind": "percentage", "value": 1000},
            ),
        )
        creators.add_code(session, creator.id, CreatorCodeCreate(code=CREATOR_CODE, value=10))
    return creators.page_url(token)


def creator_sales(story: Story, page_url: str, seconds: float = 20) -> CreatorFigures:
    """What the creator's page shows once the worker has credited the drop's orders."""
    deadline, seen = time.monotonic() + seconds, None
    while True:
        with story.sessions() as session:
            creator = creators.by_page_token(session, page_url.rsplit("/", 1)[-1])
            figures = creators.figures(session, creator)
            by_code = session.scalar(
                select(func.count())
                .select_from(Commission)
                .where(Commission.creator_id == creator.id, Commission.basis == "code")
            )
        if (figures.orders and figures.orders == seen) or time.monotonic() > deadline:
            break
        seen = figures.orders
        time.sleep(1)
    return CreatorFigures(
        CREATOR,
        CREATOR_CODE,
        page_url,
        figures.orders,
        by_code or 0,
        f"{format_plain(figures.revenue, figures.currency)} {figures.currency}",
        f"{format_plain(figures.earnings, figures.currency)} {figures.currency}",
    )


def _touch(kind: str, visitor: str, params: dict | None = None, **extra) -> dict:
    """What the shop's touches.js posts for a visitor who said yes to analytics."""
    return {
        "kind": kind,
        "event_id": uuid.uuid4().hex,
        "visitor_id": visitor,
        "params": params or {},
        **extra,
    }


async def _browse(client: httpx.AsyncClient, index: int, product_id: str) -> str:
    """Before the drop, a buyer's browser visits the shop through each link of their
    path and views the sneaker; returns the browser's visitor id."""
    visitor = uuid.uuid4().hex
    for link in PATHS[index % len(PATHS)]:
        await client.post("/api/v1/analytics/touches", json=_touch("visit", visitor, LINKS[link]))
    touch = _touch("product_view", visitor, product_id=product_id)
    await client.post("/api/v1/analytics/touches", json=touch)
    return visitor


async def _storefront_buyer(
    client: httpx.AsyncClient, index: int, visitor: str, product_id: str, event_id: str
) -> tuple[str, float]:
    """Buy now on the live's page (the cart's touch; the drop's gate, then the checkout
    at the live price, with the last link's attribution); returns the outcome and the
    checkout's seconds."""
    await client.post(
        "/api/v1/analytics/touches",
        json=_touch("add_to_cart", visitor, product_id=product_id),
    )
    last_link = LINKS[PATHS[index % len(PATHS)][-1]]
    started = time.perf_counter()
    created = await client.post(
        f"/api/v1/live-events/{event_id}/buy",
        json={
            "quantity": 1,
            "attribution": attribution_from_link(last_link),
            # Some buyers type the creator's code they heard in the live.
            **({"discount_code": CREATOR_CODE} if index % 10 == 7 else {}),
        },
        # The shop's browser cookie: whose per-buyer limit the gate counts against.
        headers={"Cookie": f"mercato_csrf={visitor}"},
    )
    if created.status_code == 409:
        return "refused", time.perf_counter() - started
    if created.status_code != 201:
        return "error", time.perf_counter() - started
    token = created.json()["token"]
    filled = await client.patch(
        f"/api/v1/checkouts/{token}",
        json={
            "email": f"buyer{index}@example.com",
            # 555-0100 to 555-0199: numbers kept for fiction.
            "phone": f"+1415555{100 + index % 100:04d}",
            "shipping_address": ADDRESS,
        },
    )
    if filled.status_code != 200:
        return "error", time.perf_counter() - started
    done = await client.post(
        f"/api/v1/checkouts/{token}/complete",
        json={"payment_method": "tok_visa", "expected_total": filled.json()["total"]},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    seconds = time.perf_counter() - started
    if done.status_code in (200, 201) and done.json().get("status") == "completed":
        # The thank-you page reports the purchase under the order's event id: the
        # ledger joins the visitor's earlier touches to the buyer.
        order_id = done.json()["order_id"]
        purchase = _touch("purchase", visitor) | {"event_id": f"order:{order_id}:purchase"}
        await client.post("/api/v1/analytics/touches", json=purchase)
        return "sold", seconds
    return ("refused" if done.status_code == 409 else "error"), seconds


async def _drop(
    api_url: str, buyers: int, concurrency: int, product_id: str, event_id: str
) -> tuple[Counter, list[float], float]:
    limit = asyncio.Semaphore(concurrency)
    outcomes: Counter = Counter()
    latencies: list[float] = []

    async with httpx.AsyncClient(base_url=api_url, timeout=60) as client:

        async def browse(index: int) -> str:
            async with limit:
                return await _browse(client, index, product_id)

        # The teasers bring the buyers to the shop before the drop opens (not timed).
        visitors = await asyncio.gather(*(browse(i) for i in range(buyers)))

        async def one(index: int) -> None:
            async with limit:
                outcome, seconds = await _storefront_buyer(
                    client, index, visitors[index], product_id, event_id
                )
            outcomes[outcome] += 1
            latencies.append(seconds)

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(buyers)))
        return outcomes, latencies, time.perf_counter() - started


def _tiktok_buyers(story: Story, count: int, sent: list[int], placed: Counter) -> None:
    """Buyers inside TikTok Shop, buying from the stock TikTok was given (the shop turns
    them away once it is sold out there): the platform sends each order as a signed
    webhook (and, as platforms do, some twice)."""
    control = f"{story.sandbox_url}/tiktok/_sandbox"
    with httpx.Client(timeout=30) as client:
        client.put(
            f"{control}/webhook",
            json={"url": f"{story.api_url}/webhooks/{story.channel_ids['tiktok']}"},
        )
        for index in range(count):
            answer = client.post(
                f"{control}/orders",
                json={
                    "lines": [
                        {
                            "sku": demo_catalog.DROP_SKU,
                            "quantity": 1,
                            "price": "120.00",
                            "title": "Limited Drop Sneaker",
                        }
                    ],
                    "email": f"tiktok{index}@example.com",
                    "name": f"TikTok buyer {index}",
                },
            )
            placed["placed" if answer.status_code == 200 else "refused"] += 1
            if index % 20 == 19:
                sent += client.post(f"{control}/webhooks/deliver", json={"duplicates": 1}).json()[
                    "statuses"
                ]
        sent += client.post(f"{control}/webhooks/deliver", json={"duplicates": 1}).json()[
            "statuses"
        ]


LIVE_PRICE = 9900  # the drop's price during the live (the sneaker's own: 120.00)


def go_live(story: Story, variant_id: str, stock: int) -> str:
    """The drop as a live event on TikTok and the storefront: a third of the pairs
    ring-fenced for TikTok Shop (and pushed to it), the rest for the storefront behind
    the drop's gate; the sneaker pinned at its live price. Returns the event's id."""
    tiktok = story.channel_ids["tiktok"]
    with transaction(story.sessions) as session:
        event = live.create_event(
            session,
            LiveEventCreate(
                title="Sneaker drop live",
                host="@sneakerhead",
                platforms=[
                    {"channel": tiktok, "url": "https://www.tiktok.com/@sneakerhead/live"},
                    {"channel": "storefront"},
                ],
                products=[{"sku": demo_catalog.DROP_SKU}],
                per_buyer_limit=1,
            ),
            actor="demo",
        )
        pools = {tiktok: stock // 3, "storefront": stock - stock // 3}
        live.allocate(session, event.id, PoolsInput(sku=demo_catalog.DROP_SKU, pools=pools))
        live.open_gate(
            session, event.id, VariantRef(sku=demo_catalog.DROP_SKU), pools["storefront"]
        )
        live.start(session, event.id, actor="demo")
        pin = PinInput(sku=demo_catalog.DROP_SKU, live_price=LIVE_PRICE)
        live.pin(session, event.id, pin, actor="demo")
        story.live_event_id = event.id
    # TikTok Shop is told its pool before the live opens (the worker would, a moment later).
    sync.push_availability(story.sessions, tiktok, [variant_id], resend=True)
    return story.live_event_id


def end_live(story: Story) -> dict[str, int]:
    """End the live: its pools let go; returns the pairs each channel sold from its pool."""
    with transaction(story.sessions) as session:
        sold = {
            pool.channel: pool.sold for pool in live.stock(session, story.live_event_id)[0].pools
        }
        live.end(session, story.live_event_id, actor="demo")
    names = {cid: kind for kind, cid in story.channel_ids.items()}
    return {names.get(channel, channel): units for channel, units in sold.items()}


def flash_drop(story: Story, stock: int, buyers: int, concurrency: int = 16) -> DropFigures:
    """Many more buyers than pairs at once: a third inside TikTok Shop, the rest on the
    storefront checkout link. Then count what was really sold."""
    tiktok_count = buyers // 3
    sent: list[int] = []
    placed: Counter = Counter()
    with story.sessions() as session:
        drop = catalog.get_variant_by_sku(session, demo_catalog.DROP_SKU)
    event_id = go_live(story, drop.id, stock)
    tiktok = threading.Thread(target=_tiktok_buyers, args=(story, tiktok_count, sent, placed))
    tiktok.start()
    outcomes, latencies, seconds = asyncio.run(
        _drop(story.api_url, buyers - tiktok_count, concurrency, drop.product_id, event_id)
    )
    tiktok.join()
    # The worker turns acknowledged webhooks into orders; wait for the last of them.
    deadline = time.monotonic() + 60
    while True:
        with story.sessions() as session:
            drop_orders = _drop_orders(session, drop.id)
        arrived = sum(1 for o in drop_orders if o.channel == story.channel_ids["tiktok"])
        if arrived >= placed["placed"] or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    pools_sold = end_live(story)
    with story.sessions() as session:
        view = reports.inventory_by_sku(session, demo_catalog.DROP_SKU)
        balanced = not reports.verify(session)
    names = {cid: kind for kind, cid in story.channel_ids.items()}
    kept = [o for o in drop_orders if o.status not in ("on_hold", "cancelled")]
    sold_units = sum(line.quantity for o in kept for line in o.lines if line.variant_id == drop.id)
    latencies.sort()
    return DropFigures(
        stock=stock,
        buyers=buyers,
        sold=sold_units,
        oversold=max(0, sold_units - stock),
        refused=outcomes["refused"],
        errors=outcomes["error"] + sum(1 for status in sent if status >= 500),
        seconds=seconds,
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0,
        p99_ms=latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0,
        on_hand_after=view.on_hand,
        ledger_balanced=balanced,
        tiktok_orders=arrived,
        tiktok_webhooks=len(sent),
        tiktok_refused=placed["refused"],
        tiktok_cancelled=sum(
            1
            for o in drop_orders
            if o.channel == story.channel_ids["tiktok"] and o.status == "cancelled"
        ),
        flagged=sum(1 for o in drop_orders if o.status == "on_hold"),
        by_channel=dict(Counter(names.get(o.channel, o.channel) for o in kept)),
        live_event_id=story.live_event_id,
        pools_sold=pools_sold,
    )


def _drop_orders(session, variant_id: str) -> list:
    page = queries.list_orders(session, queries.OrderFilters(), limit=queries.MAX_PAGE_SIZE)
    found = list(page.items)
    while page.next_cursor:
        page = queries.list_orders(
            session, queries.OrderFilters(), cursor=page.next_cursor, limit=queries.MAX_PAGE_SIZE
        )
        found += page.items
    return [o for o in found if any(line.variant_id == variant_id for line in o.lines)]


def fulfil_drop(story: Story) -> tuple[int, int]:
    """Ship every drop order with a tracking number; return (shipped, tracking numbers the
    TikTok simulator received back)."""
    shipped, tiktok_ids = 0, []
    with transaction(story.sessions) as session:
        drop = catalog.get_variant_by_sku(session, demo_catalog.DROP_SKU)
        for number, order in enumerate(_drop_orders(session, drop.id), start=1):
            if order.status == "open":
                fulfillment.fulfil(
                    session,
                    order.id,
                    FulfillmentCreate(carrier="UPS", tracking_number=f"1ZDEMO{number:010d}"),
                    actor="demo",
                )
                shipped += 1
                if order.channel == story.channel_ids["tiktok"]:
                    tiktok_ids.append(order.external_id)
    # The worker pushes each fulfilment to the platform; ask the platform what it got.
    control = f"{story.sandbox_url}/tiktok/_sandbox/orders"
    deadline, received = time.monotonic() + 30, 0
    with httpx.Client(timeout=10) as client:
        while time.monotonic() < deadline:
            received = sum(
                1
                for external_id in tiktok_ids
                if any(
                    r["type"] == "fulfillment"
                    for r in client.get(f"{control}/{external_id}").json()["received"]
                )
            )
            if received >= len(tiktok_ids):
                break
            time.sleep(0.5)
    return shipped, received


# ---------------------------------------------------------------- the inbox


@dataclass
class InboxFigures:
    question: str
    answer: str
    seconds: float


def where_is_my_order(story: Story) -> InboxFigures:
    """A buyer of a shipped drop order asks on WhatsApp where it is: the simulator posts
    the signed message, the inbox's automation answers with the order's state and
    tracking, and the worker sends the answer to the simulator."""
    from mercato.sandbox import whatsapp as sim

    api = httpx.Client(
        base_url=story.api_url, headers={"Authorization": f"Bearer {story.token}"}, timeout=30
    )
    with transaction(story.sessions) as session:
        shipped = next(
            o
            for o in _drop_orders(
                session, catalog.get_variant_by_sku(session, demo_catalog.DROP_SKU).id
            )
            if o.customer_phone and o.fulfillment_status == "fulfilled"
        )
    account = api.post(
        "/api/v1/inbox/accounts",
        json={
            "name": "whatsapp-us",
            "phone_number_id": sim.PHONE_NUMBER_ID,
            "business_account_id": sim.WABA_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "demo-verify",
            "base_url": f"{story.sandbox_url}/whatsapp",
        },
    ).json()
    api.put(f"/api/v1/inbox/accounts/{account['id']}/automation", json={"order_status": True})
    control = httpx.Client(base_url=f"{story.sandbox_url}/whatsapp/_sandbox", timeout=30)
    control.put(
        "/webhook",
        json={"url": f"{story.api_url}{account['webhook_path']}", "app_secret": sim.APP_SECRET},
    )
    question, wa_id = "Hi! Where is my order?", shipped.customer_phone.lstrip("+")
    started = time.perf_counter()
    control.post("/inbound", json={"wa_id": wa_id, "name": "Demo Buyer", "text": question})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        sent = [m for m in control.get("/messages").json()["messages"] if m["to"] == wa_id]
        if sent:
            answer = sent[0]["body"]["text"]["body"]
            return InboxFigures(question, answer, time.perf_counter() - started)
        time.sleep(0.2)
    raise DemoError("the inbox did not answer the WhatsApp question within 30 s")


@dataclass
class CommentSale:
    comment: str
    sku: str
    order_name: str
    total: str
    conversation_id: str


def comment_to_sale(story: Story) -> CommentSale:
    """Someone comments on the shop's Instagram post; the merchant answers privately with a
    checkout link holding the product; the buyer follows it and pays. The order carries
    the conversation in its attribution."""
    from mercato.sandbox import messenger as sim

    api = httpx.Client(
        base_url=story.api_url, headers={"Authorization": f"Bearer {story.token}"}, timeout=30
    )
    hoodie = story.products[0]  # the first generated product: a hoodie in sizes
    sku = next(v.sku for v in hoodie.variants if "M" in v.option_values)
    account = api.post(
        "/api/v1/inbox/accounts",
        json={
            "platform": "instagram",
            "name": "instagram-shop",
            "instagram_account_id": sim.INSTAGRAM_ID,
            "page_id": sim.PAGE_ID,
            "access_token": sim.ACCESS_TOKEN,
            "app_secret": sim.APP_SECRET,
            "verify_token": "demo-verify",
            "base_url": f"{story.sandbox_url}/messenger",
        },
    ).json()
    control = httpx.Client(base_url=f"{story.sandbox_url}/messenger/_sandbox", timeout=30)
    control.put(
        "/webhook",
        json={
            "instagram": f"{story.api_url}{account['webhook_path']}",
            "app_secret": sim.APP_SECRET,
        },
    )
    text = f"Love the {hoodie.title} 😍 how much in M?"
    made = control.post(
        "/comments",
        json={"platform": "instagram", "sender": "5501", "name": "maya.styles", "text": text},
    ).json()
    [conversation] = api.get("/api/v1/conversations", params={"account_id": account["id"]}).json()[
        "items"
    ]
    thread = api.get(f"/api/v1/conversations/{conversation['id']}").json()
    comment = next(m for m in thread["messages"] if m["platform_message_id"] == made["comment_id"])
    api.post(
        f"/api/v1/conversations/{conversation['id']}/checkout-links",
        json={
            "items": [{"sku": sku, "quantity": 1}],
            "text": "Hi Maya! Here it is in M, ready to pay:",
            "comment_id": comment["id"],
            "author": "demo",
        },
    ).raise_for_status()
    deadline = time.monotonic() + 30
    while not (sent := control.get("/messages").json()["messages"]):
        if time.monotonic() > deadline:
            raise DemoError("the private reply did not reach Instagram within 30 s")
        time.sleep(0.2)
    link = sent[0]["body"]["message"]["text"].split()[-1]
    params = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    # The buyer's browser opens the link: the shop's cart, with what the link says.
    buyer = httpx.Client(base_url=story.api_url, timeout=30)
    visitor = uuid.uuid4().hex
    link_params = {k: v for k, v in params.items() if k in LinkParams.model_fields}
    buyer.post("/api/v1/analytics/touches", json=_touch("visit", visitor, link_params))
    lines = [item.split(":") for item in params["items"].split(",")]
    created = buyer.post(
        "/api/v1/checkouts",
        json={
            "lines": [{"sku": s, "quantity": int(q)} for s, q in lines],
            "country": "US",
            "attribution": {
                "source": params["ch"],
                "conversation_id": params["conv"],
                "utm": {k: v for k, v in params.items() if k.startswith("utm_")},
            },
        },
    ).json()
    filled = buyer.patch(
        f"/api/v1/checkouts/{created['token']}",
        json={"email": "maya@example.com", "shipping_address": ADDRESS},
    ).json()
    done = buyer.post(
        f"/api/v1/checkouts/{created['token']}/complete",
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"payment_method": "tok_visa", "expected_total": filled["total"]},
    ).json()
    purchase = _touch("purchase", visitor) | {"event_id": f"order:{done['order_id']}:purchase"}
    buyer.post("/api/v1/analytics/touches", json=purchase)
    order = api.get(f"/api/v1/orders/{done['order_id']}").json()
    if order["attribution"].get("conversation_id") != conversation["id"]:
        raise DemoError("the order from the comment's link is not attributed to it")
    return CommentSale(
        comment=text,
        sku=sku,
        order_name=order["name"],
        total=f"{format_plain(order['total'], order['currency'])} {order['currency']}",
        conversation_id=conversation["id"],
    )


# ---------------------------------------------------------------- journeys


@dataclass
class ChannelRevenue:
    channel: str
    last_non_direct: float
    markov: float

    @property
    def difference(self) -> float:
        return self.markov - self.last_non_direct


@dataclass
class Journeys:
    purchases: int
    touches: int
    currency: str
    channels: list[ChannelRevenue]

    @property
    def moved(self) -> float:
        """The revenue Markov credits to other channels than last non-direct does."""
        return sum(c.difference for c in self.channels if c.difference > 0)


def revenue_by_model(story: Story) -> Journeys:
    """The drop's and the inbox sale's journeys, from the ledger their touches left (the
    shop's browser touches, checkouts, purchases and comments, recorded by the worker):
    revenue by channel as last non-direct and as the Markov model credit it."""
    _wait_for_purchases(story)
    period = kpis.last_days(2, store_zone())  # a story told across midnight
    currency = store_currency(None)
    with story.sessions() as session:
        models = {
            model: attribution_ledger.attribute_period(
                session, period, currency, model, Options()
            ).attributions[0]
            for model in ("last-non-direct", "markov")
        }
        touches = _touch_count(session)
    last, markov = models["last-non-direct"], models["markov"]
    names = sorted(
        {c.channel for m in models.values() for c in m.credits},
        key=lambda c: -_credited(markov, c),
    )
    return Journeys(
        purchases=round(last.total_conversions),
        touches=touches,
        currency=currency,
        channels=[ChannelRevenue(c, _credited(last, c), _credited(markov, c)) for c in names],
    )


def _credited(result, channel: str) -> float:
    try:
        return result.credit(channel).value
    except KeyError:
        return 0.0


def _touch_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Touch))


def _wait_for_purchases(story: Story, seconds: float = 30) -> None:
    """The worker records each paid order's purchase from its event: wait for the last."""
    recorded = select(Touch.order_id).where(Touch.kind == "purchase", Touch.source == "server")
    missing = (
        select(func.count())
        .select_from(Order)
        .where(Order.payment_status == "paid", Order.id.not_in(recorded))
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with story.sessions() as session:
            if not session.scalar(missing):
                return
        time.sleep(0.25)
