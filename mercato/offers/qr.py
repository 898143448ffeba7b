"""QR codes (segno) of the shop's link that carries a code to the cart."""

from __future__ import annotations

import io
from urllib.parse import quote, urlencode

import segno
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.errors import NotFound
from mercato.offers import rules
from mercato.offers.models import OfferCode


def code_link(code: str, product: str | None = None, ref: str | None = None) -> str:
    """The shop's link with the code: a product's page (its Buy button starts the
    checkout with the code filled in), else the cart."""
    query = {"coupon": code}
    if ref:
        query["ref"] = ref
    path = f"/shop/p/{quote(product)}" if product else "/shop/cart"
    return f"{get_settings().base_url.rstrip('/')}{path}?{urlencode(query)}"


def svg(session: Session, code: str, product: str | None = None) -> str:
    found = session.get(OfferCode, rules.normalize(code))
    if found is None:
        raise NotFound(f"No code {code!r}.")
    out = io.BytesIO()
    segno.make(code_link(found.code, product), error="m").save(out, kind="svg", scale=6, border=2)
    return out.getvalue().decode()
