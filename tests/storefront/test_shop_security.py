"""No script runs in the shop: product HTML is sanitised when saved and when shown, every
page carries a content security policy, and redirects never trust the Host header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

import mercato
from mercato.app import create_app
from mercato.catalog.models import Product
from mercato.config import Settings
from mercato.db import transaction
from tests.catalog.test_products_api import tee
from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields

HOSTILE = (
    '<p>Soft <b>cotton</b></p><script>alert("x")</script>'
    '<img src="https://cdn.example.com/a.jpg" onerror="alert(1)">'
    '<a href="javascript:alert(2)">click</a><iframe src="https://evil.example"></iframe>'
    '<style>body{display:none}</style><a href="https://example.com/size-guide">sizes</a>'
)


def _assert_inert(html: str) -> None:
    assert "<script>alert" not in html and "alert(" not in html
    assert "onerror" not in html and "javascript:" not in html
    assert "<iframe" not in html and "display:none" not in html


def test_a_script_in_a_description_never_reaches_the_page(client, admin):
    product = tee(description_html=HOSTILE, status="active")
    created = client.post("/api/v1/products", json=product, headers=admin)
    assert created.status_code == 201, created.text
    stored = created.json()["description_html"]
    _assert_inert(stored)
    assert "<b>cotton</b>" in stored and 'href="https://example.com/size-guide"' in stored
    page = client.get("/shop/p/tee")
    assert page.status_code == 200
    description = page.text.split('<div class="description">', 1)[1].split("</div>", 1)[0]
    _assert_inert(description)
    assert "<b>cotton</b>" in description


def test_html_stored_before_sanitising_is_sanitised_when_shown(client, sessions):
    make_shop(sessions)
    with transaction(sessions) as session:
        session.execute(update(Product).values(description_html=HOSTILE))
    page = client.get("/shop/p/hoodie")
    description = page.text.split('<div class="description">', 1)[1].split("</div>", 1)[0]
    _assert_inert(description)


@pytest.mark.parametrize("path", ["/shop/p/hoodie", "/admin/login"])
def test_pages_carry_a_content_security_policy_with_a_fresh_nonce(client, sessions, path):
    make_shop(sessions)
    first, second = client.get(path), client.get(path)
    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert nonce not in second.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" in policy and "https://js.stripe.com" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    # Every inline script of the page carries the nonce; no inline handler is left.
    for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", first.text):
        assert f'nonce="{nonce}"' in tag
    assert not re.search(r"\son[a-z]+=", first.text)
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in first.headers  # served over http


def test_api_answers_carry_the_usual_headers(client):
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_hsts_when_the_public_address_is_https(engine, settings):
    app = create_app(
        Settings(**{**settings.model_dump(), "base_url": "https://shop.example"}), engine
    )
    with TestClient(app) as client:
        assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=")


def test_redirects_ignore_the_host_header(client, sessions):
    ids = make_shop(sessions)
    form = hidden_fields(client.get("/shop/p/hoodie").text)
    form["variant_id"] = ids["HOODIE-M"]
    bought = client.post(
        "/shop/buy", data=form, headers={"host": "evil.example"}, follow_redirects=False
    )
    assert bought.status_code == 303
    assert bought.headers["location"].startswith("/shop/checkout/")


def test_no_template_carries_an_inline_handler_or_an_unnonced_script():
    """The policy runs neither: behaviour goes in static scripts or nonced blocks."""
    templates = Path(mercato.__file__).parent.glob("*/templates/**/*.html")
    for template in templates:
        html = template.read_text()
        assert not re.search(r"\son[a-z]+\s*=", html), template
        assert "javascript:" not in html, template
        for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html):
            assert 'nonce="{{ request.state.csp_nonce }}"' in tag, template
