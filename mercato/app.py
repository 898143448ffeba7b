"""FastAPI factory: mounts every domain's router and renders errors as RFC 9457 problems.

``serve_app`` tunes the cycle collector for a long-lived process (``collector.settle``):
the one piece of interpreter tuning kept, for its PostgreSQL figures.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from mercato import __version__, collector
from mercato.admin import catalog_pages as admin_catalog
from mercato.admin import customers as admin_customers
from mercato.admin import fraud_view as admin_fraud
from mercato.admin import live as admin_live
from mercato.admin import markets_view as admin_markets
from mercato.admin import offer_forms as admin_offer_forms
from mercato.admin import offers as admin_offers
from mercato.admin import pages as admin_pages
from mercato.admin import translations_view as admin_translations
from mercato.analytics.api import router as analytics_router
from mercato.analytics.conversions_api import router as conversions_router
from mercato.catalog.api import files_router as media_files_router
from mercato.catalog.api import router as catalog_router
from mercato.catalog.collections_api import router as collections_router
from mercato.channels.api import feeds_router
from mercato.channels.api import router as channels_router
from mercato.checkout import api as checkout_api
from mercato.checkout.api import router as checkout_router
from mercato.config import Settings, get_settings
from mercato.creators.api import router as creators_router
from mercato.db import Sessions, create_db_engine, make_sessionmaker
from mercato.errors import FieldError, MercatoError
from mercato.events.api import router as events_router
from mercato.fraud.api import router as fraud_router
from mercato.inbox.api import router as inbox_router
from mercato.inbox.webhooks_api import router as inbox_webhooks_router
from mercato.inventory.api import router as inventory_router
from mercato.jobs.api import router as jobs_router
from mercato.jobs.worker import embedded as embedded_worker
from mercato.live.api import router as live_router
from mercato.live.stream import CounterStreams
from mercato.markets.api import router as markets_router
from mercato.offers.api import pos_router
from mercato.offers.api import router as offers_router
from mercato.orders.api import router as orders_router
from mercato.orders.inbound_api import router as order_webhooks_router
from mercato.orders.screening_api import router as fraud_reviews_router
from mercato.payments.api import router as payments_router
from mercato.privacy.api import callbacks as privacy_callbacks
from mercato.privacy.api import router as privacy_router
from mercato.problems import document_problems, problem
from mercato.profiles.api import router as customers_router
from mercato.profiles.api import segments_router
from mercato.recommendations.api import router as recommendations_router
from mercato.storefront import code_pages, creator_pages
from mercato.storefront import live_pages as storefront_live
from mercato.storefront import pages as storefront_pages
from mercato.system import log_redaction
from mercato.system.api import router as system_router
from mercato.system.idempotency import IdempotencyMiddleware
from mercato.system.security_headers import SecurityHeadersMiddleware
from mercato.system.text_input import TextInputMiddleware
from mercato.web.routing import PrefixRoutes
from mercato.web.sessions import HANDLER_THREADS
from mercato.webhooks.api import router as webhooks_router

logger = logging.getLogger("mercato")


def _on_mercato_error(request: Request, exc: MercatoError) -> JSONResponse:
    return problem(
        exc.status,
        exc.slug,
        exc.title,
        exc.detail,
        request.url.path,
        errors=exc.errors if exc.errors else None,
        **exc.extra,
    )


def _on_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [FieldError(tuple(err["loc"]), err["msg"], err["type"]) for err in exc.errors()]
    return problem(
        422,
        "validation-error",
        "Validation failed",
        f"The request has {len(errors)} invalid field(s).",
        request.url.path,
        errors,
    )


_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


def _on_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    slug = _HTTP_SLUGS.get(exc.status_code, f"http-{exc.status_code}")
    return problem(exc.status_code, slug, str(exc.detail), str(exc.detail), request.url.path)


def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    path = log_redaction.redact_target(request.url.path)
    logger.error("unhandled error on %s %s", request.method, path, exc_info=exc)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "Something went wrong on our side; nothing was changed.",
        request.url.path,
    )


def _lifespan(engine: Engine, run_worker: bool):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = HANDLER_THREADS
        if not run_worker:
            yield
            return
        async with embedded_worker(engine)(app):
            yield

    return lifespan


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, run_worker: bool = False
) -> FastAPI:
    """The API; ``run_worker`` also runs a job worker in this process (embedded setup)."""
    settings = settings or get_settings()
    engine = engine or create_db_engine(settings)
    app = FastAPI(
        title="Mercato",
        version=__version__,
        description="Social commerce hub: one catalog, one stock, every social channel.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        lifespan=_lifespan(engine, run_worker),
        # Mercato exports no OpenTelemetry: FastAPI's own would look for a configured
        # provider on every request (a read of the environment each time).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    log_redaction.install()
    app.state.engine = engine
    app.state.sessions = Sessions(
        make_sessionmaker(engine), make_sessionmaker(engine, read_only=True)
    )

    app.add_exception_handler(MercatoError, _on_mercato_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_middleware(IdempotencyMiddleware, own_keys=(checkout_api.PAYING_PATH,))
    # Outermost of the two: a key is never claimed by a request refused for its text.
    app.add_middleware(TextInputMiddleware)
    https = settings.base_url.startswith("https://")
    app.add_middleware(SecurityHeadersMiddleware, https=https)
    # Outermost: the live counter stream's frames skip the stack (live/stream.py).
    app.add_middleware(CounterStreams, state=app.state, https=https)

    # Routes are tried by the start of the request's path (web/routing.py); where several
    # may serve a path, the first included wins.
    routes = PrefixRoutes(app)
    routes.include(order_webhooks_router)
    routes.include(inbox_webhooks_router)
    for router in (inventory_router, checkout_router, payments_router, analytics_router):
        routes.include(router, prefix="/api/v1")
    routes.mount("/shop/static", storefront_pages.static, name="shop-static")
    routes.include(storefront_pages.router)
    routes.include(storefront_live.router)
    for router in (
        catalog_router,
        collections_router,
        orders_router,
        channels_router,
        events_router,
        jobs_router,
        webhooks_router,
        inbox_router,
        conversions_router,
        customers_router,
        segments_router,
        recommendations_router,
        offers_router,
        pos_router,
        creators_router,
        markets_router,
        fraud_router,
        fraud_reviews_router,
        live_router,
    ):
        routes.include(router, prefix="/api/v1")
    routes.include(privacy_router)
    routes.include(privacy_callbacks)
    app.openapi = lambda: app.openapi_schema or document_problems(FastAPI.openapi(app))
    routes.include(system_router)
    routes.include(media_files_router)
    routes.mount("/admin/static", admin_pages.static, name="admin-static")
    for module in (
        admin_pages,
        admin_catalog,
        admin_customers,
        admin_offers,
        admin_offer_forms,
        admin_markets,
        admin_translations,
        admin_fraud,
        creator_pages,
        code_pages,
        admin_live,
    ):
        routes.include(module.router)
    app.add_exception_handler(admin_pages.LoginRequired, admin_pages.login_redirect)
    routes.include(feeds_router)
    routes.install()
    return app


def serve_app(run_worker: bool = False, engine: Engine | None = None) -> FastAPI:
    """``create_app`` for a server process (``mercato serve``, one per uvicorn worker)."""
    app = create_app(engine=engine, run_worker=run_worker)
    collector.settle()
    return app
