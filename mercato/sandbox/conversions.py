"""What the ad platforms refuse of a conversion event, judged from their documentation,
not from Mercato's adapters (docs/platforms/conversions.md): the Meta, TikTok and
Pinterest simulators answer with these reasons, and keep what they accepted."""

from __future__ import annotations

import re
import time

from facebook_business.adobjects.serverside.action_source import ActionSource

HEX64 = re.compile(r"^[0-9a-f]{64}$")
SEVEN_DAYS = 7 * 86400

# Meta (PLATFORMS.md §1.7): the SDK's action sources; the fields that must be SHA-256
# hashes, and the ones sent in clear (the SDK's UserData.normalize keys).
META_ACTION_SOURCES = frozenset(source.value for source in ActionSource)
META_HASHED = frozenset({"em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country"})
META_CLEAR = frozenset(
    {
        "external_id",
        "client_ip_address",
        "client_user_agent",
        "fbc",
        "fbp",
        "subscription_id",
        "fb_login_id",
        "lead_id",
        "f5first",
        "f5last",
        "fi",
        "dobd",
        "dobm",
        "doby",
        "madid",
        "anon_id",
        "ctwa_clid",
        "page_id",
        "page_scoped_user_id",
        "ig_account_id",
        "ig_sid",
    }
)
META_MAX_EVENTS = 1000

# TikTok Events API 2.0: the event sources, the user fields that must be SHA-256 hashes.
TIKTOK_SOURCES = frozenset({"web", "app", "offline", "crm"})
TIKTOK_HASHED = ("email", "phone", "external_id")

# Pinterest (ConversionEvents' own descriptions: the schema lists them in prose only).
PINTEREST_EVENT_NAMES = frozenset(
    {
        "add_payment_info",
        "add_to_cart",
        "add_to_wishlist",
        "app_install",
        "checkout",
        "custom",
        "initiate_checkout",
        "lead",
        "page_visit",
        "search",
        "signup",
        "subscribe",
        "view_category",
        "view_content",
        "watch_video",
    }
)
PINTEREST_ACTION_SOURCES = frozenset({"app_android", "app_ios", "web", "offline"})
PINTEREST_HASHED = ("em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country", "external_id")


def _values(value) -> list:
    return value if isinstance(value, list) else [value]


def _unhashed(data: dict, keys) -> list[str]:
    return [
        key
        for key in keys
        if key in data
        and not all(isinstance(v, str) and HEX64.match(v) for v in _values(data[key]))
    ]


def meta_errors(body: dict, now: float | None = None) -> list[str]:
    """Why Meta refuses this ``/events`` body (one bad event fails the whole request)."""
    now = time.time() if now is None else now
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return ["data: a non-empty array of events is required"]
    if len(data) > META_MAX_EVENTS:
        return [f"data: at most {META_MAX_EVENTS} events per request"]
    errors = []
    for i, event in enumerate(data):
        where = f"data[{i}]"
        if not isinstance(event, dict):
            errors.append(f"{where}: an event is an object")
            continue
        if not isinstance(event.get("event_name"), str) or not event["event_name"]:
            errors.append(f"{where}.event_name is required")
        event_time = event.get("event_time")
        if not isinstance(event_time, int):
            errors.append(f"{where}.event_time is required (Unix seconds)")
        elif event_time < now - SEVEN_DAYS:
            errors.append(f"{where}.event_time is more than 7 days in the past")
        source = event.get("action_source")
        if source not in META_ACTION_SOURCES:
            errors.append(f"{where}.action_source must be one of {sorted(META_ACTION_SOURCES)}")
        users = event.get("user_data")
        if not isinstance(users, dict) or not users:
            errors.append(f"{where}.user_data is required")
            continue
        unknown = sorted(set(users) - META_HASHED - META_CLEAR)
        if unknown:
            errors.append(f"{where}.user_data: unknown parameters {unknown}")
        for key in _unhashed(users, META_HASHED):
            errors.append(f"{where}.user_data.{key}: unhashed contact information")
        if source == "website":
            if not event.get("event_source_url"):
                errors.append(f"{where}.event_source_url is required for website events")
            if not users.get("client_user_agent"):
                errors.append(f"{where}.user_data.client_user_agent is required for website events")
        custom = event.get("custom_data") or {}
        if "value" in custom and not isinstance(custom["value"], int | float):
            errors.append(f"{where}.custom_data.value must be a number")
    return errors


def tiktok_errors(body: dict) -> list[str]:
    """Why TikTok refuses this ``/event/track/`` body."""
    errors = []
    if body.get("event_source") not in TIKTOK_SOURCES:
        errors.append(f"event_source must be one of {sorted(TIKTOK_SOURCES)}")
    if not isinstance(body.get("event_source_id"), str) or not body["event_source_id"]:
        errors.append("event_source_id is required (the pixel code)")
    data = body.get("data")
    if not isinstance(data, list) or not data:
        return [*errors, "data: a non-empty array of events is required"]
    for i, event in enumerate(data):
        where = f"data[{i}]"
        if not isinstance(event, dict):
            errors.append(f"{where}: an event is an object")
            continue
        if not isinstance(event.get("event"), str) or not event["event"]:
            errors.append(f"{where}.event is required")
        if not isinstance(event.get("event_time"), int):
            errors.append(f"{where}.event_time is required (Unix seconds)")
        users = event.get("user") or {}
        for key in _unhashed(users, TIKTOK_HASHED):
            errors.append(f"{where}.user.{key} must be SHA-256 hashed")
        properties = event.get("properties") or {}
        if "value" in properties:
            if not isinstance(properties["value"], int | float):
                errors.append(f"{where}.properties.value must be a number")
            if not properties.get("currency"):
                errors.append(f"{where}.properties.currency is required with value")
    return errors


def pinterest_errors(body: dict) -> list[str]:
    """Why Pinterest refuses this ``/events`` body beyond its OpenAPI schema (which the
    simulator applies first): the documented event names and action sources, hashes."""
    errors = []
    for i, event in enumerate(body.get("data") or []):
        where = f"data[{i}]"
        if event.get("event_name") not in PINTEREST_EVENT_NAMES:
            errors.append(f"{where}.event_name must be one of {sorted(PINTEREST_EVENT_NAMES)}")
        if event.get("action_source") not in PINTEREST_ACTION_SOURCES:
            errors.append(
                f"{where}.action_source must be one of {sorted(PINTEREST_ACTION_SOURCES)}"
            )
        for key in _unhashed(event.get("user_data") or {}, PINTEREST_HASHED):
            errors.append(f"{where}.user_data.{key} must be SHA-256 hashes")
    return errors
