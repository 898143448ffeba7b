"""TikTok's Events API 2.0: a purchase as a web event for the merchant's pixel, sent to
``POST /open_api/v1.3/event/track/`` with the ``Access-Token`` header
(docs/platforms/conversions.md "TikTok")."""

from __future__ import annotations

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

BASE_URL = "https://business-api.tiktok.com"
PATH = "/open_api/v1.3/event/track/"
# The pixel's purchase event: the merchant's browser pixel must use the same name for
# TikTok to count the purchase once.
EVENT_NAME = "CompletePayment"
# Answer codes that mean TikTok's side failed, worth another try later [I].
TRANSIENT = range(50000, 60000)


def user(purchase: Purchase) -> dict:
    """``user``: email, phone (E.164) and external id SHA-256 hashed; IP, user agent,
    ttclid and ttp in clear, as TikTok asks. Only what exists."""
    buyer = purchase.buyer
    phone = digits_phone(buyer.phone)
    found = {
        "email": hashed(buyer.email.strip().lower()) if buyer.email else None,
        "phone": hashed(f"+{phone}") if phone else None,
        "external_id": hashed(buyer.external_id.strip().lower()) if buyer.external_id else None,
        "ip": buyer.client_ip,
        "user_agent": buyer.user_agent,
        "ttclid": purchase.click_ids.get("ttclid"),
        "ttp": purchase.click_ids.get("ttp"),
    }
    return {k: v for k, v in found.items() if v}


def event(purchase: Purchase) -> dict:
    found = {
        "event": EVENT_NAME,
        "event_time": purchase.event_time,
        "event_id": purchase.event_id,
        "user": user(purchase),
        "properties": {
            "currency": purchase.currency.upper(),
            "value": float(purchase.value),
            "content_type": "product",
            "order_id": purchase.order_id,
            "contents": [
                {
                    "content_id": line.content_id,
                    "quantity": line.quantity,
                    "price": float(line.item_price),
                    **({"content_name": line.title} if line.title else {}),
                }
                for line in purchase.lines
            ],
        },
        "page": {"url": purchase.url} if purchase.url else None,
    }
    return {k: v for k, v in found.items() if v is not None}


def body(destination: Destination, purchase: Purchase) -> dict:
    payload = {
        "event_source": "web",
        "event_source_id": destination.source_id,
        "data": [event(purchase)],
    }
    if destination.test_code:
        payload["test_event_code"] = destination.test_code
    return payload


def send(destination: Destination, purchase: Purchase) -> Accepted:
    """One purchase sent. TikTok answers HTTP 200 with ``code`` 0 when it took the event,
    another code (and its ``message``) when not: kept whole on a refusal."""
    with channel_http.open_client(destination.base_url) as http:
        response = channel_http.send(
            http,
            "POST",
            PATH,
            json=body(destination, purchase),
            headers={"Access-Token": destination.access_token},
        )
    answer = answer_of(response)
    code = answer.get("code") if isinstance(answer, dict) else None
    if response.status_code < 400 and code == 0:
        return Accepted(1, answer)
    message = answer.get("message") if isinstance(answer, dict) else None
    text = f"TikTok: ({code}) {message}" if code is not None else f"HTTP {response.status_code}"
    if isinstance(code, int) and code in TRANSIENT:
        raise channel_http.PlatformUnavailable(text, response.status_code)
    raise ConversionRefused(text, response.status_code, answer)
