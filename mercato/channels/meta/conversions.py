"""Meta's Conversions API: a purchase as a server event, its user data normalised and
hashed by the official SDK's rules, sent to ``POST /{version}/{pixel_id}/events``
(PLATFORMS.md §1.7, docs/platforms/conversions.md "Meta")."""

from __future__ import annotations

from facebook_business.adobjects.serverside.normalize import Normalize

from mercato.channels import http as channel_http
from mercato.channels.conversions import (
    Accepted,
    ConversionRefused,
    Destination,
    Purchase,
    answer_of,
)
from mercato.config import get_settings

EVENT_NAME = "Purchase"
# Fields Meta wants hashed (after the SDK's normalisation), and the buyer's for each.
HASHED = {
    "em": "email",
    "ph": "phone",
    "fn": "first_name",
    "ln": "last_name",
    "ct": "city",
    "st": "region",
    "zp": "postal_code",
    "country": "country",
    "external_id": "external_id",
}


def user_data(purchase: Purchase) -> dict:
    """``user_data``: hashed contact fields (each a one-value list), and in clear the ones
    Meta says never to hash (IP, user agent, fbc, fbp). Values the SDK's normaliser finds
    malformed (an email without @, a phone without digits) are left out, not sent wrong."""
    buyer = purchase.buyer
    data: dict = {}
    for key, attribute in HASHED.items():
        value = getattr(buyer, attribute)
        if not value:
            continue
        try:
            normalised = Normalize.normalize_field(key, value)
        except (TypeError, ValueError):
            continue
        if normalised:
            data[key] = [normalised]
    if buyer.client_ip:
        data["client_ip_address"] = buyer.client_ip
    if buyer.user_agent:
        data["client_user_agent"] = buyer.user_agent
    for key in ("fbc", "fbp"):
        if purchase.click_ids.get(key):
            data[key] = purchase.click_ids[key]
    return data


def event(purchase: Purchase) -> dict:
    """The server event. ``website`` needs ``event_source_url`` and the browser's user
    agent; without them the purchase is told as ``system_generated`` [I]."""
    users = user_data(purchase)
    website = bool(purchase.url and users.get("client_user_agent"))
    found = {
        "event_name": EVENT_NAME,
        "event_time": purchase.event_time,
        "event_id": purchase.event_id,
        "action_source": "website" if website else "system_generated",
        "event_source_url": purchase.url if website else None,
        "user_data": users,
        "custom_data": {
            "currency": purchase.currency.lower(),
            "value": float(purchase.value),
            "order_id": purchase.order_id,
            "content_type": "product",
            "content_ids": [line.content_id for line in purchase.lines],
            "contents": [
                {
                    "id": line.content_id,
                    "quantity": line.quantity,
                    "item_price": float(line.item_price),
                }
                for line in purchase.lines
            ],
            "num_items": sum(line.quantity for line in purchase.lines),
        },
    }
    return {k: v for k, v in found.items() if v is not None}


def body(destination: Destination, purchase: Purchase) -> dict:
    payload = {"data": [event(purchase)]}
    if destination.test_code:
        payload["test_event_code"] = destination.test_code
    return payload


def send(destination: Destination, purchase: Purchase) -> Accepted:
    """One purchase sent: Meta's answer, or ConversionRefused with its error whole.
    429/5xx/timeouts are retried by channels.http, then PlatformUnavailable."""
    version = get_settings().meta_graph_version
    with channel_http.open_client(destination.base_url) as http:
        response = channel_http.send(
            http,
            "POST",
            f"/{version}/{destination.source_id}/events",
            json=body(destination, purchase),
            headers={"Authorization": f"Bearer {destination.access_token}"},
        )
    answer = answer_of(response)
    error = answer.get("error") if isinstance(answer, dict) else None
    if response.status_code >= 400 or error:
        error = error if isinstance(error, dict) else {}
        words = [error.get(k) for k in ("message", "error_user_msg") if error.get(k)]
        text = ": ".join(words) or f"HTTP {response.status_code}"
        raise ConversionRefused(f"Meta: {text}", response.status_code, answer)
    return Accepted(int(answer.get("events_received") or 0), answer)
