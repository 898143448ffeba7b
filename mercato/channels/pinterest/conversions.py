"""Pinterest's Conversions API: a purchase as a ``checkout`` web event for the merchant's
ad account, sent to ``POST /v5/ad_accounts/{ad_account_id}/events`` (PLATFORMS.md §4.7;
the body is Pinterest's ``ConversionEvents`` schema)."""

from __future__ import annotations

import re

from mercato.channels import http as channel_http
from mercato.channels.conversions import (
    Accepted,
    ConversionRefused,
    Destination,
    Purchase,
    answer_of,
    digits_phone,
    hashed,
)

# Pinterest's purchase event: the tag's ``checkout``.
EVENT_NAME = "checkout"
PARTNER_NAME = "ss-mercato"


def _lettered(value: str | None) -> str | None:
    """Lowercase, without spaces or punctuation (names, city, state) [V schema text]."""
    if not value:
        return None
    cleaned = re.sub(r"[\s\W\d_]+", "", value.lower())
    return cleaned or None


def user_data(purchase: Purchase) -> dict:
    """``user_data``: SHA-256 hashes in one-value lists (``em``, ``ph``, names, place,
    country, ``external_id``); IP, user agent and the epik click id in clear."""
    buyer = purchase.buyer
    phone = digits_phone(buyer.phone)
    zipcode = re.sub(r"\s", "", buyer.postal_code or "").split("-")[0].lower()
    values = {
        "em": buyer.email.strip().lower() if buyer.email else None,
        "ph": phone,
        "fn": _lettered(buyer.first_name),
        "ln": _lettered(buyer.last_name),
        "ct": _lettered(buyer.city),
        "st": _lettered(buyer.region),
        "zp": zipcode or None,
        "country": buyer.country.strip().lower() if buyer.country else None,
        "external_id": buyer.external_id.strip().lower() if buyer.external_id else None,
    }
    data: dict = {key: [hashed(value)] for key, value in values.items() if value}
    if buyer.client_ip:
        data["client_ip_address"] = buyer.client_ip
    if buyer.user_agent:
        data["client_user_agent"] = buyer.user_agent
    if purchase.click_ids.get("epik"):
        data["click_id"] = purchase.click_ids["epik"]
    return data


def event(purchase: Purchase) -> dict:
    found = {
        "event_name": EVENT_NAME,
        "action_source": "web",
        "event_time": purchase.event_time,
        "event_id": purchase.event_id,
        "event_source_url": purchase.url,
        "partner_name": PARTNER_NAME,
        "user_data": user_data(purchase),
        "custom_data": {
            "currency": purchase.currency.upper(),
            # Pinterest's schema takes the value as a string.
            "value": str(purchase.value),
            "order_id": purchase.order_id,
            "content_ids": [line.content_id for line in purchase.lines],
            "contents": [
                {
                    "id": line.content_id,
                    "quantity": line.quantity,
                    "item_price": str(line.item_price),
                }
                for line in purchase.lines
            ],
            "num_items": sum(line.quantity for line in purchase.lines),
        },
    }
    return {k: v for k, v in found.items() if v is not None}


def body(purchase: Purchase) -> dict:
    return {"data": [event(purchase)]}


def send(destination: Destination, purchase: Purchase) -> Accepted:
    """One purchase sent (``?test=true`` when the destination is in test mode)."""
    with channel_http.open_client(destination.base_url) as http:
        response = channel_http.send(
            http,
            "POST",
            f"/v5/ad_accounts/{destination.source_id}/events",
            params={"test": "true"} if destination.test_code else None,
            json=body(purchase),
            headers={"Authorization": f"Bearer {destination.access_token}"},
        )
    answer = answer_of(response)
    if response.status_code >= 400 or not isinstance(answer, dict):
        message = answer.get("message") if isinstance(answer, dict) else answer
        raise ConversionRefused(f"Pinterest: {message}", response.status_code, answer)
    failed = [e for e in answer.get("events") or [] if e.get("status") == "failed"]
    if failed:
        raise ConversionRefused(
            f"Pinterest: {failed[0].get('error_message') or 'event failed'}",
            response.status_code,
            answer,
        )
    return Accepted(int(answer.get("num_events_received") or 0), answer)
