"""Access logs never carry a key: checkout tokens, sign-in links, tokens in query strings."""

from __future__ import annotations

import logging

from mercato.system import log_redaction
from mercato.system.log_redaction import REDACTED, redact_target


def test_keys_in_paths_and_query_strings_are_redacted():
    assert redact_target("/shop/login/lgn_01.1767.abcdef") == f"/shop/login/{REDACTED}"
    assert redact_target("/shop/checkout/ck_secret/thanks") == f"/shop/checkout/{REDACTED}/thanks"
    assert redact_target("/api/v1/checkouts/ck_secret?x=1") == f"/api/v1/checkouts/{REDACTED}?x=1"
    assert redact_target("/cb?code=abc&state=s&access_token=t&sign=z&page=2") == (
        f"/cb?code={REDACTED}&state=s&access_token={REDACTED}&sign={REDACTED}&page=2"
    )
    assert redact_target("/api/v1/products?limit=5") == "/api/v1/products?limit=5"


def test_the_access_log_record_is_rewritten_before_any_handler_sees_it(app):
    log_redaction.install()
    access = logging.getLogger("uvicorn.access")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep()
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)  # setLevel, unlike .level =, drops the cached answer
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/shop/login/lgn_1.2.sig?token=mct_abc",
            "1.1",
            303,
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert seen == [f'127.0.0.1:5000 - "GET /shop/login/{REDACTED}?token={REDACTED} HTTP/1.1" 303']
