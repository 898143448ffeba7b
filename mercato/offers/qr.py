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


def inline(code: str, scale: int = 6) -> str:
    """The code's QR as SVG markup to place in a page (no XML declaration), sized by the
    page's CSS (no fixed width and height)."""
    out = io.BytesIO()
    segno.make(code_link(code), error="m").save(
        out,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=False,
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=f"QR code for {code}",
    )
    return out.getvalue().decode()
