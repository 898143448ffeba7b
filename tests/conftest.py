"""Test fixtures. Every database test runs on SQLite by default, and on PostgreSQL when
MERCATO_TEST_DATABASE_URL points at a server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test):
each test session then creates its own throwaway database there and drops it at the end.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mercato.app import create_app
from mercato.auth import service as auth_service
from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductCreate
from mercato.channels import http as channel_http
from mercato.channels import service as channels
from mercato.channels.schemas import ChannelCreate
from mercato.config import Settings, get_settings
from mercato.db import create_db_engine, make_sessionmaker, transaction, utcnow
from mercato.jobs import registry
from mercato.jobs.worker import Worker
from mercato.models import metadata
from mercato.payments import service as payments
from mercato.sandbox.app import create_app as create_sandbox
from mercato.system import migrations
from tests.helpers import CREDENTIALS, SANDBOX, SETTINGS
from tests.payments.stripe_standin import WEBHOOK_SECRET, StripeStandIn

SERVER_URL = os.environ.get("MERCATO_TEST_DATABASE_URL")
# Wide enough that CLI tables print whole rows in tests.
os.environ["COLUMNS"] = "250"


def pytest_report_header(config):
    return f"database: {'PostgreSQL (' + SERVER_URL + ')' if SERVER_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if not SERVER_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'mercato.db'}"
        return
    name = f"mercato_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_engine(database_url, tmp_path_factory):
    settings = Settings(
        database_url=database_url,
        secret_key="test-secret",
        data_dir=tmp_path_factory.mktemp("data"),
    )
    engine = create_db_engine(settings)
    migrations.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url, tmp_path, monkeypatch) -> Iterator[Settings]:
    """Process settings pointing at the test database, as the CLI and services see them."""
    monkeypatch.setenv("MERCATO_DATABASE_URL", database_url)
    monkeypatch.setenv("MERCATO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MERCATO_SECRET_KEY", "test-secret")
    monkeypatch.setenv("MERCATO_CURRENCY", "USD")
    # Receivers, simulators and stand-ins listen on 127.0.0.1.
    monkeypatch.setenv("MERCATO_ALLOW_LOCAL_URLS", "1")
    # Every request of a test comes from one address; tests of the limits turn them on.
    monkeypatch.setenv("MERCATO_CHECKOUT_STARTS_PER_MINUTE", "0")
    monkeypatch.setenv("MERCATO_LOGIN_LINKS_PER_HOUR", "0")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def engine(_migrated_engine, settings):
    """The migrated test database, emptied after each test."""
    yield _migrated_engine
    with _migrated_engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def session(sessions):
    """A session whose work the test commits explicitly (or leaves uncommitted)."""
    with sessions() as session:
        yield session


@pytest.fixture
def app(engine, settings):
    return create_app(settings, engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_token(sessions):
    def make(*scopes: str) -> dict[str, str]:
        with transaction(sessions) as session:
            secret = auth_service.create_token(session, "test", list(scopes)).secret
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture
def admin(make_token) -> dict[str, str]:
    """Authorization headers of an admin token."""
    return make_token("admin")


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 (a real event loop and thread pool); its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    # Addresses given to payment providers are built from the configured base URL.
    app.state.settings.base_url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


class Clock:
    """Time the test moves by hand: real time shifted by what the test adds (jobs that
    services queue "now" are due at once), or, ``frozen``, a fixed instant."""

    def __init__(self, frozen: bool = False) -> None:
        self.offset = timedelta()
        self.frozen_at = utcnow() if frozen else None

    def __call__(self) -> datetime:
        if self.frozen_at is not None:
            return self.frozen_at + self.offset
        return utcnow() + self.offset

    @property
    def now(self) -> datetime:
        return self()

    @now.setter
    def now(self, value: datetime) -> None:
        self.offset += value - self()

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def drain(engine, clock):
    """Run every due job (a worker on ``clock``) until nothing is left. A failure of the
    worker's own steps (claiming, consuming events) fails the test rather than being
    logged and retried unseen."""
    worker = Worker(engine, concurrency=2, clock=clock)

    def run(*args, **kwargs):
        worker.failed_steps.clear()
        worker.drain(*args, **kwargs)
        if worker.failed_steps:
            raise worker.failed_steps[0]

    yield run
    worker.close()


@pytest.fixture
def stand_in(settings) -> Iterator[StripeStandIn]:
    """Stripe's API, stood in for on 127.0.0.1 (``settings`` allows local URLs)."""
    with StripeStandIn() as server:
        yield server


@pytest.fixture
def stripe_shop(stand_in, sessions) -> StripeStandIn:
    """The store takes payments through Stripe (the stand-in), webhooks signed with
    ``WEBHOOK_SECRET``."""
    with transaction(sessions) as session:
        payments.configure(
            session,
            "stripe",
            secret_key="sk_test_123",
            webhook_secret=WEBHOOK_SECRET,
            api_base=stand_in.url,
        )
    return stand_in


@pytest.fixture
def sandbox(monkeypatch):
    """Every simulator in-process; channels created with base_url SANDBOX/<kind> reach it."""
    app = create_sandbox()
    client = TestClient(app, base_url=SANDBOX)
    monkeypatch.setattr(
        channel_http, "open_client", lambda base_url: TestClient(app, base_url=base_url)
    )
    monkeypatch.setattr(channel_http, "BACKOFF_BASE", 0.0)
    # Images a platform takes as files come from the simulators' image host.
    monkeypatch.setenv("MERCATO_MEDIA_ORIGIN", f"{SANDBOX}/cdn")
    get_settings.cache_clear()
    yield client
    client.close()


@pytest.fixture
def job_context(engine, sessions) -> registry.JobContext:
    """What a worker hands a job: run one with ``registry.TASKS[name].fn(job_context, ...)``."""
    return registry.JobContext(
        job_id="job_test",
        attempt=1,
        now=datetime.now(UTC),
        sessions=sessions,
        read_sessions=make_sessionmaker(engine, read_only=True),
    )


@pytest.fixture
def make_products(sessions):
    def make(*products: dict) -> list:
        with transaction(sessions) as session:
            return [catalog.create_product(session, ProductCreate(**p)) for p in products]

    return make


@pytest.fixture
def make_channel(sessions):
    def make(kind: str, name: str | None = None) -> str:
        with transaction(sessions) as session:
            return channels.create_channel(
                session,
                ChannelCreate(
                    kind=kind,
                    name=name or kind,
                    base_url=f"{SANDBOX}/{kind}",
                    credentials=CREDENTIALS.get(kind, {}),
                    settings=SETTINGS.get(kind, {}),
                ),
            ).id

    return make
