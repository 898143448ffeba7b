"""Connecting, changing and removing a channel.

A connection is checked before anything is stored: the settings and credentials each
platform needs, then one call to the platform with them (no transaction is open while it
answers). Either failing stores nothing and says, in one line, what to fix. Removal stops
syncing for good and keeps the history (orders, listings); it can first delete the items on
the platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from sqlalchemy.orm import Session, sessionmaker

from mercato.channels import http as channel_http
from mercato.channels import service, sync
from mercato.channels.adapter import adapter_for
from mercato.channels.capabilities import capabilities
from mercato.channels.google import auth as google_auth
from mercato.channels.models import Channel
from mercato.channels.schemas import ChannelCreate, ChannelUpdate
from mercato.channels.target import Target, storefront_url
from mercato.db import transaction
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.outbound import require_safe_url


@dataclass(frozen=True)
class Needs:
    credentials: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()


# What each platform's adapter cannot work without (docs: README "Connecting the platforms").
NEEDS = {
    "meta": Needs(credentials=("access_token",), settings=("catalog_id",)),
    # Google's credentials come in two shapes: checked by google_auth.missing_credentials.
    "google": Needs(settings=("account_id", "data_source_id")),
    "tiktok": Needs(credentials=("app_key", "app_secret", "access_token")),
    # catalog_mode: api (pushed) or feed (Pinterest fetches the feed): chosen, never assumed.
    "pinterest": Needs(credentials=("access_token",), settings=("catalog_mode",)),
    "snapchat": Needs(),
}


def problems(kind: str, credentials: dict[str, str], settings: dict) -> list[FieldError]:
    """Every missing setting or credential of a connection to ``kind``."""
    needs = NEEDS[kind]
    errors = [
        FieldError(("credentials", key), f"{kind} needs the {key} credential", "missing")
        for key in needs.credentials
        if not credentials.get(key)
    ]
    errors += [
        FieldError(("settings", key), f"{kind} needs the {key} setting", "missing")
        for key in needs.settings
        if not settings.get(key)
    ]
    if kind == "google" and (problem := google_auth.missing_credentials(credentials)):
        errors.append(FieldError(("credentials",), problem, "missing"))
    if kind == "pinterest" and credentials.get("refresh_token"):
        errors += [
            FieldError(("credentials", key), f"a refresh_token needs the {key} too", "missing")
            for key in ("app_id", "app_secret")
            if not credentials.get(key)
        ]
    return errors


def _check(kind: str, credentials: dict[str, str], settings: dict) -> None:
    errors = problems(kind, credentials, settings)
    if errors:
        raise ValidationFailed(
            f"The {kind} connection is incomplete: {'; '.join(e.message for e in errors)}.",
            errors,
        )


def verify(
    kind: str,
    target: Target,
    base_url: str,
    credentials: dict[str, str],
    http: httpx.Client | None = None,
) -> str | None:
    """One call to the platform with these credentials and settings: what it found, or
    None where the platform has no API to call (feeds only). Raises ValidationFailed with
    the platform's own words when it refuses."""
    if not capabilities(kind).catalog_api:
        return None
    client = http or channel_http.open_client(base_url)
    try:
        return adapter_for(kind, target, credentials, client).verify()
    except channel_http.PlatformError as exc:
        raise ValidationFailed(
            f"{kind} refused the connection, nothing was stored: {exc}",
            [FieldError(("credentials",), str(exc), "refused")],
        ) from None
    finally:
        if http is None:
            client.close()


@dataclass
class Connected:
    channel: Channel
    verified: str | None


def connect(
    sessions: sessionmaker[Session],
    data: ChannelCreate,
    check_with_platform: bool = True,
    http: httpx.Client | None = None,
) -> Connected:
    """A new channel, stored only once its settings are complete and (unless told not to)
    the platform accepted them."""
    # Checked first (an address Mercato may not call is refused whatever else is missing),
    # and before the platform is called at it, not only when stored.
    base_url = require_safe_url(
        (data.base_url or service.DEFAULT_BASE_URLS[data.kind]).rstrip("/"), ("base_url",)
    )
    _check(data.kind, data.credentials, data.settings)
    verified = None
    if check_with_platform:
        target = Target(
            kind=data.kind,
            country=data.country.upper(),
            language=data.language,
            settings=dict(data.settings),
            base_url=storefront_url(),
        )
        verified = verify(data.kind, target, base_url, data.credentials, http)
    with transaction(sessions) as session:
        channel = service.create_channel(session, data)
    return Connected(channel, verified)


def change(
    sessions: sessionmaker[Session],
    channel_id: str,
    data: ChannelUpdate,
    merge: bool = False,
    check_with_platform: bool = True,
    http: httpx.Client | None = None,
) -> Connected:
    """Change a channel. With ``merge``, the given credentials and settings are added to the
    stored ones (the CLI's ``--credential``/``--setting``) instead of replacing them. A change
    of credentials, settings or API root is checked with the platform before it is stored."""
    with sessions() as session:
        channel = service.get_channel(session, channel_id)
        if channel.removed_at is not None:
            raise Conflict(f"Channel {channel.name} is removed; connect it again instead.")
        credentials = service.credentials(channel)
        settings = dict(channel.settings or {})
        target = Target.of(channel)
        base_url = channel.base_url
    if merge:
        if data.credentials is not None:
            data.credentials = {**credentials, **data.credentials}
        if data.settings is not None:
            data.settings = {**settings, **data.settings}
    reaches_platform = {"credentials", "settings", "base_url", "country", "language"}
    verified = None
    if reaches_platform & data.model_fields_set:
        credentials = data.credentials if data.credentials is not None else credentials
        settings = data.settings if data.settings is not None else settings
        _check(target.kind, credentials, settings)
        if check_with_platform:
            target.settings = dict(settings)
            target.country = (data.country or target.country).upper()
            target.language = data.language or target.language
            root = require_safe_url((data.base_url or base_url).rstrip("/"), ("base_url",))
            verified = verify(target.kind, target, root, credentials, http)
    with transaction(sessions) as session:
        channel = service.update_channel(session, channel_id, data)
    return Connected(channel, verified)


@dataclass
class Removed:
    channel: Channel
    deleted_items: int = 0
    messages: list[str] = field(default_factory=list)


def remove(
    sessions: sessionmaker[Session] | sync.Sessions,
    channel_id: str,
    delete_items: bool = False,
    http: httpx.Client | None = None,
) -> Removed:
    """Stop syncing the channel for good, keeping its orders and listings. With
    ``delete_items`` its items are first deleted on the platform; if that fails the channel
    is not removed (retry, or remove it without deleting)."""
    both = sync.Sessions.of(sessions)
    deleted = 0
    if delete_items:
        withdrawn = sync.withdraw(both, channel_id, http)
        deleted = withdrawn.deleted
        if withdrawn.messages:
            raise Conflict(
                f"Deleting the items on the platform stopped ({deleted} deleted): "
                f"{' '.join(withdrawn.messages)} The channel is not removed: retry, or "
                f"remove it without deleting its items."
            )
    with transaction(both.write) as session:
        channel = service.remove_channel(session, channel_id)
    return Removed(channel, deleted)
