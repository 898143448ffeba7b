"""The dashboard's Markets page: each market's countries, currency, languages, tax and
duty treatment and price list, and the imported exchange rates with their dates; and a
market created or edited in a form, through the service the API uses, every refusal shown
under its field."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError

from mercato.admin import service
from mercato.admin.pages import Admin, _back, _page
from mercato.config import get_settings
from mercato.errors import FieldError, MercatoError, ValidationFailed
from mercato.markets import fx
from mercato.markets import service as markets
from mercato.markets.schemas import MarketCreate, MarketUpdate, PriceSet
from mercato.money import format_plain
from mercato.payments import methods
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/admin/markets", include_in_schema=False)
# Prices of a market's list shown on its page (the rest: the CLI, the API).
SHOWN = 50
# Fields of the form, in the order their refusals are listed.
FIELDS = (
    "code",
    "name",
    "countries",
    "currency",
    "languages",
    "tax_mode",
    "duties",
    "price_ending",
    "payment_methods",
    "active",
    "prices",
)


@router.get("")
def market_list(request: Request, session: ReadSession, admin: Admin):
    return _page(
        request,
        "markets.html",
        admin,
        markets=[(m, markets.price_count(session, m.code)) for m in markets.list_markets(session)],
        rates=sorted(fx.current().items()),
        base=get_settings().currency,
        here="/admin/markets",
    )


def _form_page(request, admin, market, posted: dict, refused: MercatoError | None, listed=((), 0)):
    return _page(
        request,
        "market_form.html",
        admin,
        http_status=refused.status if refused else 200,
        market=market,
        posted=posted,
        errors=_by_field(refused) if refused else {},
        error=refused.detail if refused else None,
        methods=list(methods.METHODS.values()),
        listed=listed,
        here="/admin/markets",
    )


def _by_field(refused: MercatoError) -> dict[str, str]:
    """Each refusal under its form field: ``countries[1]`` under Countries, a price list
    line's under Price list (by line number)."""
    out: dict[str, list[str]] = {}
    for error in refused.errors:
        loc = tuple(error.loc)
        name = str(loc[0]) if loc and str(loc[0]) in FIELDS else ""
        message = error.message
        if name == "prices" and len(loc) > 1 and isinstance(loc[1], int):
            message = f"line {loc[1] + 1}: {message}"
        out.setdefault(name, []).append(message)
    return {k: "; ".join(v) for k, v in out.items()}


def _values(form) -> dict:
    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    def listed(name: str) -> list[str]:
        return [x.strip() for x in text(name).replace(";", ",").split(",") if x.strip()]

    return {
        "name": text("name"),
        "countries": listed("countries"),
        "currency": text("currency").upper(),
        "languages": listed("languages"),
        "tax_mode": text("tax_mode"),
        "duties": text("duties") or "dap",
        "price_ending": text("price_ending") or None,
        "payment_methods": [str(m) for m in form.getlist("payment_methods")],
        "active": form.get("active") == "on",
    }


def _prices(form) -> list[PriceSet]:
    """The price list lines (``SKU,price``, one a line); a line that is not one is refused
    by its number."""
    found, errors = [], []
    lines = str(form.get("prices") or "").splitlines()
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        if len(parts) != 2 or not all(parts):
            errors.append(FieldError(("prices", index), "write SKU,price (e.g. TEE-M,24.95)"))
            continue
        try:
            found.append((index, PriceSet(sku=parts[0], price=parts[1])))
        except ValidationError as exc:
            errors.append(FieldError(("prices", index), exc.errors()[0]["msg"]))
    if errors:
        raise ValidationFailed("The price list has mistakes.", errors)
    return [p for _, p in found]


def _schema(build) -> object:
    try:
        return build()
    except ValidationError as exc:
        raise ValidationFailed(
            "The market cannot be saved.",
            [
                FieldError(tuple(e["loc"]), e["msg"].removeprefix("Value error, "))
                for e in exc.errors()
            ],
        ) from None


def _posted(form) -> dict:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)} | {
        "payment_methods": [str(m) for m in form.getlist("payment_methods")]
    }


@router.get("/new")
def new_market(request: Request, admin: Admin):
    return _form_page(request, admin, None, {}, None)


@router.post("/new")
def create_market(request: Request, form: PostedForm, session: WriteSession, admin: Admin):
    """A new market (and its first prices), or the form again with each refusal under its
    field and nothing kept."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        service.require(admin, "markets:write")
        code = str(form.get("code") or "").strip().lower()
        values = _values(form)
        prices = _prices(form)
        market = markets.create_market(session, _schema(lambda: MarketCreate(code=code, **values)))
        if prices:
            markets.set_prices(session, market.code, prices)
    except MercatoError as exc:
        session.rollback()
        return _form_page(request, admin, None, _posted(form), exc)
    return _back("/admin/markets", msg=f"Market {market.code} created.")


@router.get("/{code}/edit")
def edit_market(request: Request, code: str, session: ReadSession, admin: Admin):
    market = markets.get_market(session, code)
    return _form_page(request, admin, market, {}, None, _listed(session, market))


def _listed(session, market) -> tuple[list[tuple[str, str]], int]:
    """The first prices of the market's list (SKU, price) and how many it holds."""
    rows = markets.listed_prices(session, market.code)
    return [(sku or vid, format_plain(a, market.currency)) for sku, vid, a in rows[:SHOWN]], len(
        rows
    )


@router.post("/{code}/edit")
def save_market(request: Request, code: str, form: PostedForm, session: WriteSession, admin: Admin):
    """The market changed (and prices set in its price list: changed ones reach its
    channels), or the form again with each refusal under its field and nothing kept."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    market = markets.get_market(session, code)
    try:
        service.require(admin, "markets:write")
        values = _values(form)
        prices = _prices(form)
        markets.update_market(session, market.code, _schema(lambda: MarketUpdate(**values)))
        if prices:
            markets.set_prices(session, market.code, prices)
    except MercatoError as exc:
        session.rollback()
        market = markets.get_market(session, code)
        return _form_page(request, admin, market, _posted(form), exc, _listed(session, market))
    return _back("/admin/markets", msg=f"Market {market.code} saved.")
