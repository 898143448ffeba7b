"""Settings from the environment (MERCATO_*)."""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERCATO_", extra="ignore")

    data_dir: Path = Path(".mercato")
    database_url: str | None = None
    secret_key: str | None = None
    # Master keys of personal data at rest (envelope encryption), "<id>:<key>" comma
    # separated, the first one current; a key is 32 bytes in URL-safe base64. Unset: one
    # key derived from the secret key (id "s0"), always readable too.
    pii_keys: str = ""
    base_url: str = "http://127.0.0.1:8000"
    # The store's base currency: prices without a currency are in it.
    currency: str = "USD"
    # A platform order for stock Mercato no longer has: "backorder" (keep it, on hold) or
    # "cancel" (cancel it on the platform). A channel's settings may say otherwise.
    oversold_policy: str = "backorder"
    # Meta's Graph API version, for every Meta channel (PLATFORMS.md §1.0: raise it before
    # the version's announced end).
    meta_graph_version: str = "v26.0"
    # Where product images are fetched from when a platform takes the file itself (TikTok
    # Shop): each image URL's path under this base instead of its own host (a mirror of
    # the CDN, or the simulators' image host). Unset: every image from its own URL.
    media_origin: str | None = None
    # Fraud screening: the request header a trusted proxy in front of Mercato sets to the
    # buyer's country from their IP (e.g. CF-IPCountry behind Cloudflare). Unset: the IP's
    # country is not known (no geo-IP database is consulted), and the header is ignored.
    fraud_ip_country_header: str | None = None
    # Where the worker reads exchange rates from every 6 hours (the ECB's daily reference
    # rates XML, or JSON/CSV in markets/fx.py's shapes); unset: only imported files.
    fx_url: str | None = None
    # PostgreSQL connections one process keeps open, and how many more it may open for a
    # burst (each closed again after use: a connection opened per request is expensive).
    db_pool_size: int = 30
    db_pool_overflow: int = 10
    # SQLite waits this long for a competing writer before giving up.
    sqlite_busy_timeout_ms: int = 30_000
    # Let webhook endpoints, channel base URLs and provider API bases be http and local
    # (loopback, private networks): for development, tests and the demo's simulators only.
    allow_local_urls: bool = False
    # Platform webhooks acknowledged a batch per transaction (orders.intake.WebhookBatcher,
    # group commit; its figures are in orders/intake.py). Off: one transaction per delivery,
    # for measuring it against (bench/webhooks.py --intake one-by-one).
    webhook_group_commit: bool = True
    # Per client address (mercato/web/address_limits.py); 0: no limit. Anonymous checkout
    # starts (API and shop) a minute, and sign-in links asked for an hour.
    checkout_starts_per_minute: int = 30
    # Live drops: Redis for the admission gate and the viewer count across API processes
    # (e.g. redis://127.0.0.1:6379/0). Unset: the database gate, counts per process.
    redis_url: str | None = None
    # A drop gate's bot throttle: tries one client address may make per 10 seconds (0: none).
    drop_tries_per_10s: int = 20
    login_links_per_hour: int = 10
    # Mail to buyers. No SMTP host: mail is kept in the local outbox (the dashboard's Mail).
    smtp_host: str | None = None
    smtp_port: int = 587
    # "starttls" (upgrade a plain connection), "ssl" (TLS from the start, port 465) or
    # "none" (a local relay only).
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 30.0
    mail_from: str = "Shop <shop@localhost>"
    # The store's time zone (IANA name): reports cut days, weeks and months in it.
    timezone: str = "UTC"
    # Touches older than this many days are deleted from the analytics ledger; 0 keeps them.
    analytics_retention_days: int = 395
    # Per client address: what one shop visitor's browser may report a minute.
    analytics_touches_per_minute: int = 120
    # Creators (mercato/creators): who is credited with a sale. "code_wins": a creator's
    # code redeemed on the order, else the last creator touch; "last_touch": whichever came
    # last. Touches count within the window before the order; a refund within the clawback
    # window takes its share of the commission back.
    creator_attribution: Literal["code_wins", "last_touch"] = "code_wins"
    creator_window_days: int = 30
    creator_clawback_days: int = 30

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return value

    @field_validator("currency")
    @classmethod
    def _upper_currency(cls, value: str) -> str:
        return value.upper()

    @field_validator("meta_graph_version")
    @classmethod
    def _graph_version(cls, value: str) -> str:
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError("a Graph API version looks like v26.0")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mercato.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """The configured key, else the one stored in the data dir, generated on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / SECRET_KEY_FILE
        if not path.exists():
            key = secrets.token_urlsafe(32)
            # Exclusive create: two processes starting at once keep the same key.
            try:
                with open(path, "x", encoding="utf-8") as handle:
                    handle.write(key)
                path.chmod(0o600)
            except FileExistsError:
                pass
        return path.read_text(encoding="utf-8").strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
