"""Pinterest access token refresh (PLATFORMS.md §4.6): ``POST /v5/oauth/token`` with the
app id and secret as HTTP Basic auth and ``grant_type=refresh_token``. The hook the channel
token mechanism calls (mercato/channels/tokens.py)."""

from __future__ import annotations

import time

import httpx

from mercato.channels.http import AuthExpired, PlatformError, send


def refresh(credentials: dict[str, str], http: httpx.Client) -> dict[str, str]:
    if not (credentials.get("refresh_token") and credentials.get("app_id")):
        raise AuthExpired("the access token expired and there is no refresh token to renew it")
    response = send(
        http,
        "POST",
        "/v5/oauth/token",
        auth=(credentials["app_id"], credentials.get("app_secret", "")),
        data={"grant_type": "refresh_token", "refresh_token": credentials["refresh_token"]},
    )
    body = response.json() if response.content else {}
    if response.status_code in (400, 401, 403):
        raise AuthExpired(f"Pinterest refused the refresh: {body.get('message', body)}")
    if response.status_code >= 400 or "access_token" not in body:
        raise PlatformError(f"Pinterest token refresh: HTTP {response.status_code}")
    renewed = {
        **credentials,
        "access_token": body["access_token"],
        # Scheduled from expires_in rather than from a hard-coded lifetime.
        "access_token_expires_at": str(int(time.time()) + int(body.get("expires_in", 0))),
    }
    if body.get("refresh_token"):  # continuous refresh tokens are renewed too
        renewed["refresh_token"] = body["refresh_token"]
    return renewed
