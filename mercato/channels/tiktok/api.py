"""Calling the TikTok Shop Partner API (PLATFORMS.md §3.1, §3.4): every request signed,
the seller's token in ``x-tts-access-token``, the shop's cipher on shop-scoped calls, and
TikTok's envelope ``{code, message, request_id, data}`` read once, here.

Both the product client and the order client talk through one ``Api``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from mercato.channels.http import AuthExpired, PlatformError, send
from mercato.channels.tiktok.signing import sign

SHOPS = "/authorization/202309/shops"
# Codes TikTok answers for a missing, invalid or expired access token.
AUTH_CODES = (105001, 105002, 105003)
API_BASE = "https://open-api.tiktokglobalshop.com"
# Token endpoints live on their own host (§3.4).
AUTH_BASE = "https://auth.tiktok-shops.com"
REFRESH = "/api/v2/token/refresh"


class TikTokError(PlatformError):
    """TikTok refused the request: its code and message."""

    def __init__(self, code: int | None, message: str, status: int | None = None):
        super().__init__(f"TikTok Shop: {message} (code {code})", status)
        self.code = code


class Api:
    def __init__(self, settings: dict[str, Any], credentials: dict[str, str], http: httpx.Client):
        self.app_key = credentials.get("app_key", "")
        self.secret = credentials.get("app_secret", "")
        if not (self.app_key and self.secret):
            raise PlatformError("the TikTok Shop channel needs app_key and app_secret")
        self.token = credentials.get("access_token", "")
        self.shop_cipher = settings.get("shop_cipher") or None
        self.shop_id = settings.get("shop_id") or None
        self.http = http

    def call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        query: dict[str, str] | None = None,
        shop: bool = True,
    ) -> dict:
        """``data`` of a successful answer; raises AuthExpired or TikTokError otherwise."""
        raw = orjson.dumps(body) if body is not None else b""
        params = self._params(query, shop)
        # The exact bytes sent are signed, so the body is serialised once, here.
        params["sign"] = sign(self.secret, path, params, raw)
        response = send(
            self.http,
            method,
            path,
            params=params,
            content=raw or None,
            headers={"x-tts-access-token": self.token, "content-type": "application/json"},
        )
        return self._data(response)

    def upload(self, path: str, fields: dict[str, str], name: str, content: bytes) -> dict:
        """A multipart upload: the body is not part of the signature (§3.1)."""
        params = self._params(None, shop=False)
        params["sign"] = sign(self.secret, path, params, multipart=True)
        response = send(
            self.http,
            "POST",
            path,
            params=params,
            data=fields,
            files={"data": (name, content)},
            headers={"x-tts-access-token": self.token},
        )
        return self._data(response)

    def _params(self, query: dict[str, str] | None, shop: bool) -> dict[str, str]:
        params = {"app_key": self.app_key, "timestamp": str(int(time.time())), **(query or {})}
        if shop:
            params["shop_cipher"] = self.cipher()
        return params

    def _data(self, response: httpx.Response) -> dict:
        try:
            envelope = response.json()
        except ValueError:
            raise TikTokError(None, f"HTTP {response.status_code}", response.status_code) from None
        code = envelope.get("code")
        message = envelope.get("message") or f"HTTP {response.status_code}"
        if code in AUTH_CODES:
            raise AuthExpired(f"TikTok Shop: {message}", response.status_code)
        if code != 0:
            raise TikTokError(code, message, response.status_code)
        return envelope.get("data") or {}

    def shops(self) -> list[dict]:
        """The shops the seller authorised this app for, each with its cipher."""
        return self.call("GET", SHOPS, shop=False).get("shops") or []

    def shop(self) -> dict:
        """The channel's shop as Get Authorized Shops lists it (``id, name, region,
        seller_type, cipher, code``): the one of the ``shop_cipher`` setting, else of
        ``shop_id``, else the only one the seller authorised."""
        shops = self.shops()
        if self.shop_cipher:
            chosen = [s for s in shops if s.get("cipher") == self.shop_cipher]
        else:
            chosen = [s for s in shops if not self.shop_id or str(s.get("id")) == self.shop_id]
        if len(chosen) != 1:
            raise PlatformError(
                "TikTok Shop: set the channel's shop_id to one of "
                + ", ".join(f"{s.get('id')} ({s.get('name')})" for s in shops)
                if len(chosen) > 1
                else "TikTok Shop: the seller authorised no shop for this app"
                + (f" with id {self.shop_id}" if self.shop_id else "")
                + (" with the channel's shop_cipher" if self.shop_cipher else "")
            )
        return chosen[0]

    def cipher(self) -> str:
        """The channel's ``shop_cipher``; when the settings hold none, the authorised shop's
        (the one named by ``shop_id`` when the seller authorised several)."""
        if self.shop_cipher is None:
            self.shop_cipher = self.shop()["cipher"]
        return self.shop_cipher


def refresh_token(
    http: httpx.Client, credentials: dict[str, str], base_url: str = AUTH_BASE
) -> dict[str, Any]:
    """New tokens for a refresh token (§3.4): ``{access_token, access_token_expire_in,
    refresh_token, refresh_token_expire_in, ...}``, the expiries as Unix timestamps.
    Raises AuthExpired when TikTok refuses (the seller must authorise the app again)."""
    if not credentials.get("refresh_token"):
        raise AuthExpired("TikTok Shop: no refresh token stored; authorise the app again")
    response = send(
        http,
        "GET",
        base_url.rstrip("/") + REFRESH,
        params={
            "app_key": credentials.get("app_key", ""),
            "app_secret": credentials.get("app_secret", ""),
            "refresh_token": credentials["refresh_token"],
            "grant_type": "refresh_token",
        },
    )
    try:
        envelope = response.json()
    except ValueError:
        envelope = {}
    data = envelope.get("data") or {}
    if envelope.get("code") != 0 or not data.get("access_token"):
        reason = envelope.get("message") or f"HTTP {response.status_code}"
        raise AuthExpired(f"TikTok Shop refused the refresh token: {reason}")
    return data
