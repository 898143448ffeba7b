"""Security headers on every response, and a content security policy on the shop and
the dashboard.

The policy allows scripts only from this origin, from Stripe (whose Payment Element the
checkout loads) and inline blocks that carry this response's nonce
(``<script nonce="{{ request.state.csp_nonce }}">``); inline event handlers
(``onclick=...``) never run. So even HTML that slipped past the sanitiser cannot run a
script on the origin that also serves /admin.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Stripe's documented needs for Stripe.js and the Payment Element.
_STRIPE_SCRIPTS = "https://js.stripe.com https://*.js.stripe.com"
_STRIPE_FRAMES = "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com"
_STRIPE_CONNECT = "https://api.stripe.com"
_PAGES = ("/shop", "/admin")


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' {_STRIPE_SCRIPTS}",
            "style-src 'self'",
            # Product photos live on the merchant's CDN, wherever that is.
            "img-src * data: blob:",
            f"frame-src {_STRIPE_FRAMES}",
            f"connect-src 'self' {_STRIPE_CONNECT}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, https: bool):
        self.app, self.https = app, https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = None
        if scope["path"].startswith(_PAGES):
            nonce = secrets.token_urlsafe(16)
            scope.setdefault("state", {})["csp_nonce"] = nonce
            policy = content_security_policy(nonce)
        https = self.https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("X-Frame-Options", "DENY")
                if policy:
                    headers.setdefault("Content-Security-Policy", policy)
                if https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)
