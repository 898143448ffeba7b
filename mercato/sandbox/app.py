"""All simulators in one ASGI app, each under its kind's prefix."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

SIMULATED = ("meta", "google", "tiktok", "pinterest")


def create_app(kinds: tuple[str, ...] = SIMULATED) -> FastAPI:
    app = FastAPI(title="Mercato platform simulators")
    for kind in kinds:
        app.mount(f"/{kind}", import_module(f"mercato.sandbox.{kind}").create_app())
    return app
