"""`mercato demo`: run the story with a progress display, summarise, then serve."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from mercato.cli_support import console, err, table
from mercato.demo import story as demo


def demo_command(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard afterwards")
    ] = True,
    data_dir: Annotated[Path, typer.Option(help="Folder of the demo's own database")] = Path(
        ".mercato-demo"
    ),
    buyers: Annotated[int, typer.Option(help="Buyers in the flash drop")] = 300,
    stock: Annotated[int, typer.Option(help="Pairs of the limited sneaker")] = 60,
    port: Annotated[int, typer.Option(help="Port of the dashboard")] = 8000,
):
    """The whole story in one command: catalog, platforms, a flash drop, the dashboard."""
    started = time.perf_counter()
    try:
        story = demo.prepare(data_dir)
    except demo.DemoError as exc:
        err.print(f"[bold red]Error:[/] {exc}")
        raise typer.Exit(1) from None
    try:
        _tell(story, stock, buyers, started)
    finally:
        story.stop()
    if serve:
        _serve_dashboard(story, port)


def _step(text: str):
    return console.status(f"[bold]{text}…", spinner="dots")


def _tell(story: demo.Story, stock: int, buyers: int, started: float) -> None:
    console.rule("[bold]Mercato demo")
    with _step("Seeding the catalog"):
        seeded = demo.seed_catalog(story, stock)
    console.print(
        f"✔ Catalog: {seeded['products']} products, {seeded['variants']} variants "
        f"({seeded['imported_from_shopify_csv']} from Shopify's product template, "
        "imported as a CSV)"
    )
    with _step("Starting the platform simulators"):
        demo.start_simulators(story)
        kinds = demo.connect_channels(story)
    console.print(f"✔ Connected {', '.join(kinds)} (local simulators at {story.sandbox_url})")

    with _step("Checking every item against every platform's rules"):
        checks = demo.check_all(story)
    rows = table("platform", "items", "would reject", "warn", "fields at fault")
    for c in checks:
        rows.add_row(
            c.channel,
            str(c.checked),
            str(c.rejected),
            str(c.warned),
            ", ".join(f"{field} ×{n}" for field, n in c.reasons) or "–",
        )
    console.print(rows)
    with _step("Fixing what the merchant can fix"):
        fixed = demo.fix_what_can_be_fixed(story)
        rechecked = demo.check_all(story)
    console.print(
        f"✔ Fixed {fixed} products; still rejected: "
        + ", ".join(f"{c.channel} {c.rejected}" for c in rechecked)
    )

    with _step("Publishing and reading back each platform's verdicts"):
        published = demo.publish_all(story)
    rows = table("platform", "sent", "approved", "warning", "rejected", "pending")
    for p in published:
        rows.add_row(
            p.channel,
            str(p.sent),
            *(str(p.verdicts.get(v, 0)) for v in ("approved", "warning", "rejected", "pending")),
        )
    console.print(rows)

    with _step(f"Flash drop, run as a live event: {buyers} buyers for {stock} pairs at once"):
        demo.start_mercato(story)
        creator_page = demo.enrol_creator(story)
        drop = demo.flash_drop(story, stock, buyers)
    console.print(
        f"✔ Live event {drop.live_event_id}: the pairs ring-fenced per channel, each sold "
        "from its own pool only ("
        + ", ".join(f"{channel} {n}" for channel, n in drop.pools_sold.items())
        + "); storefront buyers through the drop's gate (first come, first served, one pair "
        "each) at the live price; ended, its pools let go"
    )
    console.print(
        f"✔ Drop: sold {drop.sold} of {drop.stock} ("
        + ", ".join(f"{channel} {n}" for channel, n in drop.by_channel.items())
        + f"), [bold]{drop.oversold} oversold[/]; {drop.refused} storefront buyers told it "
        f"sold out; {drop.errors} errors; {drop.orders_per_second:.0f} orders/s through "
        f"checkout, p50 {drop.p50_ms:.0f} ms, p99 {drop.p99_ms:.0f} ms; stock left "
        f"{drop.on_hand_after}; ledger "
        + ("balanced" if drop.ledger_balanced else "[red]NOT balanced[/]")
    )
    console.print(
        f"✔ TikTok Shop sold from the stock it was given: {drop.tiktok_orders} orders from "
        f"{drop.tiktok_webhooks} signed webhooks (duplicates included); "
        f"{drop.tiktok_refused} TikTok buyers turned away once it was sold out there; "
        f"{drop.tiktok_cancelled} TikTok orders cancelled on TikTok as out of stock (pairs "
        "sold on the storefront before TikTok's stock caught up); "
        f"{drop.flagged} orders on hold"
    )
    with _step("Fulfilling the drop's orders"):
        shipped, pushed = demo.fulfil_drop(story)
    console.print(
        f"✔ Shipped {shipped} orders with UPS tracking numbers; "
        + (
            f"TikTok Shop received the tracking of {pushed}"
            if pushed or drop.by_channel.get("tiktok")
            else "no TikTok order to ship"
        )
    )

    with _step("A buyer asks on WhatsApp where their order is"):
        asked = demo.where_is_my_order(story)
    console.print(
        f"✔ WhatsApp: “{asked.question}” answered by the inbox in {asked.seconds:.1f} s: "
        f"“{asked.answer}”"
    )

    with _step("A comment on Instagram turns into a sale"):
        sale = demo.comment_to_sale(story)
    console.print(
        f"✔ Instagram: the comment “{sale.comment}” was answered privately with a checkout "
        f"link for {sale.sku}; the buyer paid order {sale.order_name} ({sale.total}), "
        f"attributed to the conversation {sale.conversation_id}"
    )

    with _step("Reading the journeys in the ledger"):
        journeys = demo.revenue_by_model(story)
    console.print(
        f"✔ Journeys: {journeys.touches} touches in the ledger (visits through each link, "
        f"product views, carts, checkouts, comments, {journeys.purchases} purchases). "
        f"Revenue by channel under two attribution models, {journeys.currency}:"
    )
    rows = table("channel", "last non-direct", "Markov", "difference")
    for c in journeys.channels:
        rows.add_row(
            c.channel, f"{c.last_non_direct:,.2f}", f"{c.markov:,.2f}", f"{c.difference:+,.2f}"
        )
    console.print(rows)
    console.print(
        "  Last non-direct gives each sale to the link it was bought through; Markov gives "
        "each channel the share of sales lost without it, so the posts that brought buyers "
        "earlier get their part."
    )

    with _step("Crediting the creator"):
        creator = demo.creator_sales(story, creator_page)
    console.print(
        f"✔ Creator @{creator.handle}: {creator.orders} orders through their live's link or "
        f"their code {creator.code} ({creator.by_code} by the code), {creator.revenue} of "
        f"sales, {creator.earnings} earned at 10%; their page: {creator.page_url}"
    )

    elapsed = time.perf_counter() - started
    console.print(
        Panel.fit(
            f"[bold]{drop.sold}[/] pairs sold to {drop.buyers} buyers, [bold]{drop.oversold}[/] "
            f"oversold, stock {drop.stock} → {drop.on_hand_after}; "
            f"{drop.tiktok_cancelled} TikTok orders cancelled (sold elsewhere first), "
            f"{drop.flagged} on hold.\n"
            f"Catalog live on {len(published)} platforms; "
            + ", ".join(f"{p.channel} {p.verdicts.get('approved', 0)} approved" for p in published)
            + f".\nAttribution: Markov credits {journeys.moved:,.2f} {journeys.currency} of "
            f"{journeys.purchases} purchases to other channels than last non-direct does ("
            + ", ".join(
                f"{c.channel} {c.difference:+,.2f}" for c in journeys.channels if c.difference
            )
            + f").\nStory told in {elapsed:.0f} s. Data in {story.data_dir}",
            title="Summary",
        )
    )
    if drop.oversold or drop.errors or not drop.ledger_balanced:
        raise typer.Exit(1)


def _serve_dashboard(story: demo.Story, port: int) -> None:
    import uvicorn

    from mercato.app import create_app

    console.print(
        f"\nDashboard: [bold]http://127.0.0.1:{port}/admin[/]  — log in with this "
        f"token:\n  [bold green]{story.token}[/]\n(Ctrl+C to stop)"
    )
    uvicorn.run(
        create_app(engine=story.engine, run_worker=True),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
