"""TikTok Shop access-token refresh (PLATFORMS.md §3.4), for ``mercato.channels.tokens``.

Access tokens last about a week; the refresh call returns a new access token and a new
refresh token, their expiries as absolute Unix timestamps. Both tokens are stored again.
"""

from __future__ import annotations

import httpx

from mercato.channels.tiktok.api import API_BASE, AUTH_BASE, refresh_token


def refresh(credentials: dict[str, str], http: httpx.Client) -> dict[str, str]:
    # TikTok's token calls live on their own host; a channel pointed elsewhere (the
    # simulators, a proxy) is asked on its own host.
    base = str(http.base_url).rstrip("/")
    data = refresh_token(http, credentials, AUTH_BASE if base == API_BASE else base)
    return {
        **credentials,
        "access_token": data["access_token"],
        "access_token_expires_at": str(int(data["access_token_expire_in"])),
        "refresh_token": data.get("refresh_token") or credentials["refresh_token"],
        "refresh_token_expires_at": str(int(data.get("refresh_token_expire_in") or 0)),
    }
