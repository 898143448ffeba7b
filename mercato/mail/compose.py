"""What a mail says: a template per kind and language (``<kind>.<language>.txt``, else
``<kind>.txt``), looked up first in ``<data dir>/mail/`` so a shop can override any of
them. The first line of a template is ``Subject: ...``. Amounts and dates in the
buyer's language (babel)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound
from sqlalchemy.orm import Session

from mercato.config import get_settings
from mercato.customers import service as customers
from mercato.customers.models import LoginLink
from mercato.mail.models import Mail
from mercato.money import to_decimal
from mercato.orders.models import Fulfillment, Order, Refund

HERE = Path(__file__).parent
# Carriers' public tracking pages, for a shipment that names no tracking link [I].
TRACKING_PAGES = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={}",
}


@dataclass
class Rendered:
    subject: str
    text: str


def _environment() -> Environment:
    override = get_settings().data_dir / "mail"
    return Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(str(override)), FileSystemLoader(str(HERE / "templates"))]
        ),
        autoescape=False,
        keep_trailing_newline=True,
    )


def _locale(tag: str | None) -> Locale:
    try:
        return Locale.parse((tag or "en").replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


def tracking_link(shipment: Fulfillment) -> str | None:
    if shipment.tracking_url:
        return shipment.tracking_url
    page = TRACKING_PAGES.get((shipment.carrier or "").strip().lower())
    return (
        page.format(quote(shipment.tracking_number)) if page and shipment.tracking_number else None
    )


def render(session: Session, mail: Mail) -> Rendered:
    """The mail's subject and text, from the rows it names."""
    locale = _locale(mail.locale)
    context: dict = {
        "money": lambda minor, currency: format_currency(
            to_decimal(minor, currency), currency, locale=locale
        ),
        "when": lambda at: format_datetime(at, "medium", locale=locale) if at else "",
        "shop_url": get_settings().base_url.rstrip("/"),
    }
    if mail.order_id:
        context["order"] = session.get(Order, mail.order_id)
    if mail.kind == "shipping_confirmation":
        shipment = session.get(Fulfillment, mail.reference)
        context.update(shipment=shipment, tracking_link=tracking_link(shipment))
    elif mail.kind == "refund":
        context["refund"] = session.get(Refund, mail.reference)
    elif mail.kind == "sign_in":
        link = session.get(LoginLink, mail.reference)
        context.update(link=customers.login_link_url(link), expires_at=link.expires_at)
    text = _template(mail.kind, locale).render(**context)
    first, _, body = text.partition("\n")
    return Rendered(first.removeprefix("Subject:").strip(), body.lstrip("\n"))


def _template(kind: str, locale: Locale):
    env = _environment()
    for name in (f"{kind}.{locale}.txt", f"{kind}.{locale.language}.txt", f"{kind}.txt"):
        try:
            return env.get_template(name)
        except TemplateNotFound:
            continue
    raise TemplateNotFound(f"{kind}.txt")
