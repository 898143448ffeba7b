"""Ad accounts whose reports feed the ledger: each day's spend per campaign (ad spend)
and its impressions and clicks (aggregate touches), read from Meta's Ads Insights and
Pinterest's campaign analytics. A day read again replaces what was read before: the
platforms revise their figures for days afterwards (docs/analytics/ledger.md)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mercato.analytics.imports import aggregate, replace_aggregates, replace_spend
from mercato.analytics.models import AD_REPORT_PLATFORMS, AdReportSource
from mercato.analytics.reports import store_zone
from mercato.channels import ad_reports as kit
from mercato.channels.http import PlatformError
from mercato.channels.meta import insights as meta
from mercato.channels.pinterest import analytics as pinterest
from mercato.crypto import fernet
from mercato.db import new_id, transaction, utcnow
from mercato.errors import FieldError, NotFound, PlatformRefused, ValidationFailed
from mercato.money import round_minor
from mercato.outbound import require_safe_url

_CONTEXT = b"mercato/ad-report-accounts/v1"
DEFAULT_BASE_URLS = {"meta": "https://graph.facebook.com", "pinterest": "https://api.pinterest.com"}
READERS = {"meta": meta.campaign_days, "pinterest": pinterest.campaign_days}
_ACCOUNT_ID = re.compile(r"^[0-9]{1,64}$")
# Each day's pull reads the last few days again: the platforms settle a day's figures
# for a while after it (Pinterest at most 90 days back).
RECENT_DAYS = 3
MAX_DAYS = 90


@dataclass(frozen=True)
class Pulled:
    days: int  # campaign days read
    spend_rows: int
    touches: int


def connect(
    session: Session, platform: str, account_id: str, access_token: str, base_url: str | None
) -> AdReportSource:
    errors = []
    if platform not in AD_REPORT_PLATFORMS:
        errors.append(FieldError(("platform",), f"one of {', '.join(AD_REPORT_PLATFORMS)}"))
    if not _ACCOUNT_ID.match(account_id or ""):
        errors.append(FieldError(("account_id",), "the ad account's number (digits only)"))
    if not (access_token or "").strip():
        errors.append(FieldError(("access_token",), "required"))
    if errors:
        raise ValidationFailed("The ad account cannot be connected.", errors)
    taken = session.scalar(
        select(AdReportSource.id).where(
            AdReportSource.platform == platform, AdReportSource.account_id == account_id
        )
    )
    if taken is not None:
        raise ValidationFailed(
            "This ad account is connected already.",
            [FieldError(("account_id",), f"{account_id} is connected as {taken}")],
        )
    source = AdReportSource(
        id=new_id("adac"),
        platform=platform,
        account_id=account_id,
        base_url=require_safe_url(
            (base_url or DEFAULT_BASE_URLS[platform]).rstrip("/"), ("base_url",)
        ),
        access_token_encrypted=fernet(_CONTEXT).encrypt(access_token.encode()).decode(),
        enabled=True,
    )
    session.add(source)
    session.flush()
    return source


def list_sources(session: Session) -> list[AdReportSource]:
    return list(session.scalars(select(AdReportSource).order_by(AdReportSource.created_at)))


def get_source(session: Session, source_id: str) -> AdReportSource:
    source = session.get(AdReportSource, source_id)
    if source is None:
        raise NotFound(f"No ad account {source_id}.")
    return source


def disconnect(session: Session, source_id: str) -> None:
    """Forgets the account and its token; what it brought stays in the ledger."""
    session.delete(get_source(session, source_id))


def period(since: date | None, until: date | None, now: datetime) -> tuple[date, date]:
    """The days to read, as asked: by default the last RECENT_DAYS up to today (the
    store's), at most MAX_DAYS and none in the future."""
    today = now.astimezone(store_zone()).date()
    since = since or today - timedelta(days=RECENT_DAYS)
    until = until or today
    errors = []
    if since > until:
        errors.append(FieldError(("from",), "after the last day"))
    elif (until - since).days + 1 > MAX_DAYS:
        errors.append(FieldError(("to",), f"at most {MAX_DAYS} days in one pull"))
    if until > today:
        errors.append(FieldError(("to",), "in the future"))
    if errors:
        raise ValidationFailed("The period cannot be read.", errors)
    return since, until


def pull(sessions: sessionmaker[Session], source_id: str, since: date, until: date) -> Pulled:
    """Read [since, until] from the platform with no transaction open, then write it in
    one. A refusal (or the platform out of reach) is kept on the account
    (``last_error``) and raised as PlatformRefused."""
    with sessions() as session:
        source = get_source(session, source_id)
        platform = source.platform
        account = kit.AdAccount(source.account_id, _token(source), source.base_url)
    try:
        days = READERS[platform](account, since, until)
    except PlatformError as exc:
        with transaction(sessions) as session:
            get_source(session, source_id).last_error = str(exc)
        raise PlatformRefused(str(exc)) from None
    with transaction(sessions) as session:
        spend, touches = _ledger_rows(days)
        written = Pulled(
            len(days), replace_spend(session, spend), replace_aggregates(session, touches)
        )
        source = get_source(session, source_id)
        source.pulled_at, source.last_error = utcnow(), None
    return written


def _ledger_rows(days: list[kit.CampaignDay]) -> tuple[dict, list[dict]]:
    spend: dict[tuple, int] = defaultdict(int)
    counts: dict[tuple, int] = defaultdict(int)
    for d in days:
        spend[(d.day, d.channel, d.campaign, d.currency)] += round_minor(d.spend, d.currency)
        counts[("impression", d.day, d.channel, d.campaign)] += d.impressions
        counts[("click", d.day, d.channel, d.campaign)] += d.clicks
    zone = store_zone()
    touches = [
        aggregate(kind, day, channel, campaign, None, count, zone)
        for (kind, day, channel, campaign), count in counts.items()
        if count
    ]
    return dict(spend), touches


def pull_recent(sessions: sessionmaker[Session], now: datetime) -> dict[str, str]:
    """Every enabled account's last RECENT_DAYS days; each account's outcome (one
    refusing does not stop the others)."""
    with sessions() as session:
        ids = list(
            session.scalars(select(AdReportSource.id).where(AdReportSource.enabled.is_(True)))
        )
    since, until = period(None, None, now)
    outcomes = {}
    for source_id in ids:
        try:
            pulled = pull(sessions, source_id, since, until)
            outcomes[source_id] = f"{pulled.days} campaign days"
        except PlatformRefused as exc:
            outcomes[source_id] = exc.detail
    return outcomes


def _token(source: AdReportSource) -> str:
    try:
        return fernet(_CONTEXT).decrypt(source.access_token_encrypted.encode()).decode()
    except InvalidToken:
        raise ValidationFailed(
            "The ad account's token cannot be decrypted: the secret key changed.",
            [FieldError(("access_token",), "connect the ad account again")],
        ) from None
