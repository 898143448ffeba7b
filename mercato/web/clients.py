"""What a request says of the buyer's client, for fraud screening and for matching the
purchase told to ad platforms: their IP address (as uvicorn took it, from
X-Forwarded-For behind a trusted proxy), the country a trusted proxy put in the
configured header (``fraud_ip_country_header``, e.g. CF-IPCountry), their browser's user
agent, and their device (an app's install id, else the shop's own cookie, hashed)."""

from __future__ import annotations

from fastapi import Request

from mercato.crypto import hash_token

# Cloudflare's answers for "no country" and "Tor".
_NO_COUNTRY = {"", "XX", "T1"}
# Longer user agents are cut: no browser sends one this long, and it is stored.
_USER_AGENT_LIMIT = 512


def client_signals(request: Request, device_id: str | None = None, cookie: str | None = None):
    settings = request.app.state.settings
    header = settings.fraud_ip_country_header
    country = (request.headers.get(header) or "").strip().upper() if header else ""
    device = device_id or (hash_token(cookie) if cookie else None)
    found = {
        "ip": request.client.host if request.client else None,
        "ip_country": country if len(country) == 2 and country not in _NO_COUNTRY else None,
        "device_id": device,
        "user_agent": (request.headers.get("user-agent") or "").strip()[:_USER_AGENT_LIMIT],
    }
    return {k: v for k, v in found.items() if v}
