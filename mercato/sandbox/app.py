"""All simulators in one ASGI app, each under its kind's prefix, and an image host under
``/cdn``."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

from mercato.channels.capabilities import ORDER_KINDS
from mercato.sandbox import cdn, orders
from mercato.sandbox.common import refuse_malformed

SIMULATED = (
    "meta",
    "google",
    "tiktok",
    "tiktok_events",
    "pinterest",
    "whatsapp",
    "messenger",
)


def create_app(kinds: tuple[str, ...] = SIMULATED) -> FastAPI:
    app = FastAPI(title="Mercato platform simulators")
    app.state.order_books = {}
    for kind in kinds:
        simulator = import_module(f"mercato.sandbox.{kind}").create_app()
        refuse_malformed(simulator)
        if kind in ORDER_KINDS:
            app.state.order_books[kind] = orders.install(kind, simulator)
        app.mount(f"/{kind}", simulator)
    app.mount("/cdn", cdn.create_app())
    return app
