"""The dashboard's offer and creator forms: an offer made (kind, value, scope, dates in
the store's zone, caps, combinability), changed, paused or resumed; its public code added
or single-use codes generated and downloaded as CSV; a creator made and changed, given a
code of their own, and a period of their commissions paid. Each form calls the service the
API calls, in the request's one transaction; a refusal shows the form again with each
error under its field and nothing kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from mercato.admin import service
from mercato.admin.pages import Admin, _back, _page
from mercato.catalog import service as catalog
from mercato.config import get_settings
from mercato.creators import payouts, transfers
from mercato.creators import service as creators
from mercato.creators.schemas import CreatorCodeCreate, CreatorCreate, CreatorUpdate
from mercato.db import transaction
from mercato.errors import FieldError, MercatoError, NotFound, ValidationFailed
from mercato.money import MoneyError, format_plain, to_minor
from mercato.offers import combining, pages
from mercato.offers import service as offers
from mercato.offers.models import Offer
from mercato.offers.schemas import CodesCreate, OfferCreate, OfferUpdate
from mercato.segments import service as segments
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/admin", include_in_schema=False)

KINDS = (
    ("percentage", "Percentage off"),
    ("fixed", "Fixed amount off"),
    ("free_shipping", "Free shipping"),
    ("buy_x_get_y", "Buy X, get Y"),
    ("tiered", "Spend more, save more (tiers)"),
    ("bundle", "Bundle price"),
)
CHANNELS = (
    ("storefront", "Online checkout"),
    ("inbox", "Links sent in the inbox"),
    ("pos", "Till (point of sale)"),
    ("import", "Offline redemptions imported"),
)
# Codes of an offer listed on its page (the rest: the CSV).
CODES_SHOWN = 50


# ---------------------------------------------------------------- reading a form


class Form:
    """A posted form read into a schema's values; every value that cannot be read is
    kept as a FieldError under its field, and all of them are refused together."""

    def __init__(self, form) -> None:
        self.form = form
        self.errors: list[FieldError] = []

    def text(self, name: str) -> str:
        return str(self.form.get(name) or "").strip()

    def listed(self, name: str) -> list[str]:
        return [x.strip() for x in self.text(name).replace(";", ",").split(",") if x.strip()]

    def checked(self, name: str) -> bool:
        return self.form.get(name) in ("on", "1", "true")

    def count(self, name: str) -> int | None:
        typed = self.text(name)
        if not typed:
            return None
        if not typed.isdigit():
            self.errors.append(FieldError((name,), f"{typed!r} is not a whole number"))
            return None
        return int(typed)

    def money(self, name: str, currency: str, typed: str | None = None) -> int | None:
        typed = self.text(name) if typed is None else typed
        if not typed:
            return None
        try:
            return to_minor(typed, currency or get_settings().currency)
        except MoneyError as exc:
            self.errors.append(FieldError((name,), str(exc)))
            return None

    def percent(
        self, name: str, typed: str | None = None, basis_points: bool = False
    ) -> int | None:
        """A percentage as typed (``10``, ``12.5%``): a whole percent, or basis points."""
        typed = (self.text(name) if typed is None else typed).removesuffix("%").strip()
        if not typed:
            return None
        try:
            value = float(typed)
        except ValueError:
            self.errors.append(FieldError((name,), f"{typed!r} is not a percentage"))
            return None
        if basis_points:
            return round(value * 100)
        if value != int(value):
            self.errors.append(FieldError((name,), "a whole percent (1 to 100)"))
            return None
        return int(value)

    def when(self, name: str) -> datetime | None:
        """A date and time as typed in the form (``datetime-local``): the store's time,
        made UTC by the service."""
        typed = self.text(name)
        if not typed:
            return None
        try:
            return datetime.fromisoformat(typed)
        except ValueError:
            self.errors.append(FieldError((name,), f"{typed!r} is not a date and time"))
            return None

    def schema(self, build: Callable[[], object], what: str):
        """The schema built from the values read (its refusals under their fields, beside
        the values that could not be read); nothing is done with a refused form."""
        made = None
        try:
            made = build()
        except ValidationError as exc:
            self.errors += [
                FieldError(tuple(e["loc"]), e["msg"].removeprefix("Value error, "))
                for e in exc.errors()
            ]
        if self.errors:
            raise ValidationFailed(what, self.errors)
        return made


def by_field(refused: MercatoError, form: str = "") -> dict[str, str]:
    """Each refusal under its form's field (``form.field``; ``form.`` for the form as a
    whole): a list's item named by its place."""
    out: dict[str, list[str]] = {}
    for error in refused.errors:
        loc = tuple(error.loc)
        name = str(loc[0]) if loc else ""
        message = error.message
        if len(loc) > 1 and isinstance(loc[1], int):
            message = f"line {loc[1] + 1}: {message}"
        out.setdefault(f"{form}.{name}", []).append(message)
    return {k: "; ".join(v) for k, v in out.items()}


def _posted(form) -> dict:
    return {k: str(v) for k, v in form.items() if isinstance(v, str)} | {
        "channels": [str(c) for c in form.getlist("channels")]
    }


def local_input(at: datetime | None) -> str:
    """A stored UTC time as a ``datetime-local`` value in the store's zone."""
    if at is None:
        return ""
    return at.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%dT%H:%M")


def _plain(minor: int | None, currency: str | None) -> str:
    return "" if minor is None else format_plain(minor, currency or get_settings().currency)


# ---------------------------------------------------------------- offers: new


def _products(session, read: Form, name: str) -> list[str]:
    """Products named by handle, id or SKU, as their ids; one not found refused by place."""
    found = []
    for index, reference in enumerate(read.listed(name)):
        try:
            found.append(catalog.find_product(session, reference).id)
        except NotFound:
            read.errors.append(
                FieldError((name, index), f"no product with handle, id or SKU {reference!r}")
            )
    return found


def _tiers(read: Form, currency: str) -> list[dict]:
    """Tiers, one a line: ``spend, off`` (``50.00, 10%`` or ``100.00, 15.00``)."""
    tiers = []
    for index, line in enumerate(read.text("tiers").splitlines()):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        if len(parts) != 2 or not all(parts):
            read.errors.append(FieldError(("tiers", index), "write spend, off (50.00, 10%)"))
            continue
        floor = read.money("tiers", currency, parts[0])
        if parts[1].endswith("%"):
            tier = {"min_subtotal": floor, "percentage": read.percent("tiers", parts[1])}
        else:
            tier = {"min_subtotal": floor, "amount": read.money("tiers", currency, parts[1])}
        tiers.append(tier)
    return tiers


def _bundle(session, read: Form) -> list[dict]:
    """Bundle items, one a line: ``SKU or product handle, quantity`` (a SKU names its
    variant, a handle any variant of the product)."""
    items = []
    for index, line in enumerate(read.text("bundle").splitlines()):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        quantity = parts[1] if len(parts) > 1 else "1"
        if len(parts) > 2 or not parts[0] or not quantity.isdigit():
            read.errors.append(FieldError(("bundle", index), "write SKU or handle, quantity"))
            continue
        variants = catalog.find_variants_by_sku(session, parts[0])
        if variants:
            items.append({"variant_id": variants[0].id, "quantity": int(quantity)})
            continue
        try:
            product = catalog.find_product(session, parts[0])
        except NotFound:
            read.errors.append(FieldError(("bundle", index), f"no variant or product {parts[0]!r}"))
            continue
        items.append({"product_id": product.id, "quantity": int(quantity)})
    return items


def read_offer(session, form) -> OfferCreate:
    """The new-offer form as the API's ``OfferCreate``."""
    read = Form(form)
    kind = read.text("kind")
    currency = read.text("currency").upper() or get_settings().currency
    minimum = read.text("min_subtotal")
    if kind in ("fixed", "bundle"):
        value = read.money("value", currency) or 0
    elif kind in ("percentage", "buy_x_get_y"):
        value = read.percent("value") or 0
    else:
        value = 0
    values = {
        "name": read.text("name"),
        "kind": kind,
        "value": value,
        # Amounts (a fixed value, a bundle's price, tiers, a minimum) are in the currency.
        "currency": currency if kind in ("fixed", "bundle", "tiered") or minimum else None,
        "tiers": _tiers(read, currency) if kind == "tiered" else [],
        "bundle": _bundle(session, read) if kind == "bundle" else [],
        "buy_quantity": read.count("buy_quantity") if kind == "buy_x_get_y" else None,
        "get_quantity": read.count("get_quantity") if kind == "buy_x_get_y" else None,
        "product_ids": _products(session, read, "product_ids"),
        "collection_ids": read.listed("collection_ids"),
        "markets": [m.lower() for m in read.listed("markets")],
        "channels": [str(c) for c in form.getlist("channels")],
        "segment_id": read.text("segment_id") or None,
        "first_order_only": read.checked("first_order_only"),
        "min_subtotal": read.money("min_subtotal", currency),
        **_combines(read),
        "starts_at": read.when("starts_at"),
        "ends_at": read.when("ends_at"),
        "max_uses": read.count("max_uses"),
        "per_customer": read.count("per_customer"),
        "code": read.text("code") or None,
        "code_max_uses": read.count("code_max_uses"),
        "note": read.text("note") or None,
    }
    return read.schema(lambda: OfferCreate(**values), "The offer cannot be created.")


def _offer_form(request, admin, session, posted: dict, refused: MercatoError | None):
    return _page(
        request,
        "offer_form.html",
        admin,
        http_status=refused.status if refused else 200,
        posted=posted,
        errors=by_field(refused) if refused else {},
        error=refused.detail if refused else None,
        kinds=KINDS,
        channels=CHANNELS,
        segments=segments.list_segments(session),
        currency=get_settings().currency,
        timezone=get_settings().timezone,
    )


@router.get("/offers/new")
def new_offer(request: Request, session: ReadSession, admin: Admin):
    return _offer_form(request, admin, session, {}, None)


@router.post("/offers/new")
def create_offer(request: Request, form: PostedForm, session: WriteSession, admin: Admin):
    """A new offer (and its public code), or the form again with each refusal under its
    field and nothing kept."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        service.require(admin, "offers:write")
        offer = offers.create_offer(session, read_offer(session, form))
    except MercatoError as exc:
        session.rollback()
        return _offer_form(request, admin, session, _posted(form), exc)
    return _back(f"/admin/offers/{offer.id}", msg=f"Offer {offer.name} created.")


# ---------------------------------------------------------------- offers: one


def _offer_page(
    request,
    admin,
    session,
    offer: Offer,
    posted: dict | None = None,
    refused: MercatoError | None = None,
    form: str = "",
):
    codes = offers.codes_of(session, offer.id, CODES_SHOWN)
    return _page(
        request,
        "offer.html",
        admin,
        http_status=refused.status if refused else 200,
        offer=offer,
        codes=[(c, pages.page_url(c.code)) for c in codes],
        code_count=offers.code_count(session, offer.id),
        posted=posted or {},
        errors=by_field(refused, form) if refused else {},
        error=refused.detail if refused else None,
        ends_at=local_input(offer.ends_at),
        starts_at=local_input(offer.starts_at),
        min_subtotal=_plain(offer.min_subtotal, offer.currency),
        batch=request.query_params.get("batch"),
        timezone=get_settings().timezone,
        kinds=dict(KINDS),
        channels=CHANNELS,
        store_currency=get_settings().currency,
    )


@router.get("/offers/{offer_id}")
def offer_detail(request: Request, offer_id: str, session: ReadSession, admin: Admin):
    return _offer_page(request, admin, session, offers.get_offer(session, offer_id))


def _offer_action(request, offer_id: str, form, session, admin, name: str, act):
    """One of the offer page's forms (``name``): ``act`` through the offers service, then
    back to the page saying what it did; or the page again, the refusal under its field."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    offer = offers.get_offer(session, offer_id)
    try:
        service.require(admin, "offers:write")
        said, query = act(offer)
    except MercatoError as exc:
        session.rollback()
        offer = offers.get_offer(session, offer_id)
        return _offer_page(request, admin, session, offer, _posted(form), exc, name)
    joined = "&" if query else "?"
    return RedirectResponse(
        f"/admin/offers/{offer_id}{query}{joined}msg={quote(said)}", status_code=303
    )


def _combines(read) -> dict[str, bool]:
    """The combines-with boxes (one per class); "combinable" ticks them all."""
    every = read.checked("combinable")
    return {
        f"combines_with_{c}": every or read.checked(f"combines_with_{c}") for c in combining.CLASSES
    }


@router.post("/offers/{offer_id}")
def save_offer(
    request: Request, offer_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """The offer's name, dates, caps, who and where, changed for the redemptions from
    now on (its kind, value and scope are fixed once made: a new offer changes them)."""

    def save(offer: Offer):
        read = Form(form)
        values = {
            "name": read.text("name"),
            "starts_at": read.when("starts_at"),
            "ends_at": read.when("ends_at"),
            "max_uses": read.count("max_uses"),
            "per_customer": read.count("per_customer"),
            "min_subtotal": read.money("min_subtotal", offer.currency or ""),
            "channels": [str(c) for c in form.getlist("channels")],
            "first_order_only": read.checked("first_order_only"),
            **_combines(read),
            "note": read.text("note") or None,
        }
        update = read.schema(lambda: OfferUpdate(**values), "The offer cannot be saved.")
        offers.update_offer(session, offer.id, update)
        return "Offer saved.", ""

    return _offer_action(request, offer_id, form, session, admin, "edit", save)


@router.post("/offers/{offer_id}/active")
def offer_active(
    request: Request, offer_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """Deactivated (its codes stop redeeming everywhere at once), or active again."""

    def switch(offer: Offer):
        active = str(form.get("active") or "") == "1"
        offers.update_offer(session, offer.id, OfferUpdate(active=active))
        return ("Offer active again." if active else "Offer deactivated."), ""

    return _offer_action(request, offer_id, form, session, admin, "active", switch)


@router.post("/offers/{offer_id}/codes")
def add_offer_code(
    request: Request, offer_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """A public code added to the offer."""

    def add(offer: Offer):
        read = Form(form)
        most = read.count("max_uses")
        if read.errors:
            raise ValidationFailed("The code cannot be added.", read.errors)
        made = offers.add_code(session, offer.id, read.text("code"), most)
        return f"Code {made.code} added.", ""

    return _offer_action(request, offer_id, form, session, admin, "code", add)


@router.post("/offers/{offer_id}/codes/generate")
def generate_offer_codes(
    request: Request, offer_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """N codes of single use (or ``max_uses``), then the page offers their CSV."""

    def generate(offer: Offer):
        read = Form(form)
        values = {
            "count": read.count("count") or 0,
            "prefix": read.text("prefix"),
            "max_uses": read.count("max_uses") or 1,
        }
        data = read.schema(lambda: CodesCreate(**values), "The codes cannot be generated.")
        batch, count = offers.generate_codes(session, offer.id, data)
        return f"{count} codes generated.", f"?batch={batch}"

    return _offer_action(request, offer_id, form, session, admin, "batch", generate)


@router.get("/offers/{offer_id}/codes.csv")
def offer_codes_csv(offer_id: str, session: ReadSession, admin: Admin, batch: str | None = None):
    """The offer's codes (a batch's, else all) as the API's CSV."""
    return Response(
        "".join(offers.export_codes(session, offer_id, batch or None)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{offer_id}-codes.csv"'},
    )


# ---------------------------------------------------------------- creators


def _rates(session, read: Form, name: str, currency: str, products: bool) -> dict[str, dict]:
    """Per-product or per-collection rates, one a line: ``handle, 12%`` or ``handle, 1.50``
    (a fixed amount a unit); a product named by handle or SKU is kept by its id."""
    rates: dict[str, dict] = {}
    for index, line in enumerate(read.text(name).splitlines()):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        if len(parts) != 2 or not all(parts):
            read.errors.append(FieldError((name, index), "write handle, rate (12% or 1.50)"))
            continue
        key = parts[0]
        if products:
            try:
                key = catalog.find_product(session, key).id
            except NotFound:
                read.errors.append(FieldError((name, index), f"no product {parts[0]!r}"))
                continue
        rates[key] = _rate(read, name, parts[1], currency)
    return rates


def _rate(read: Form, name: str, typed: str, currency: str) -> dict:
    if typed.endswith("%"):
        return {"kind": "percentage", "value": read.percent(name, typed, basis_points=True) or 0}
    return {"kind": "fixed", "value": read.money(name, currency, typed) or 0}


def _creator_tiers(read: Form, currency: str) -> list[dict]:
    """Tiers, one a line: ``above, rate`` (``1000.00, 15%``)."""
    tiers = []
    for index, line in enumerate(read.text("tiers").splitlines()):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace(";", ",").split(",")]
        if len(parts) != 2 or not parts[1].endswith("%"):
            read.errors.append(FieldError(("tiers", index), "write above, rate (1000.00, 15%)"))
            continue
        above = read.money("tiers", currency, parts[0])
        tiers.append({"above": above, "value": read.percent("tiers", parts[1], basis_points=True)})
    return tiers


def read_creator(session, form, creating: bool):
    read = Form(form)
    currency = get_settings().currency
    kind = read.text("commission_kind") or "percentage"
    if kind == "percentage":
        value = read.percent("commission", basis_points=True)
    else:
        value = read.money("commission", currency)
    values: dict = {
        "name": read.text("name"),
        "commission": {"kind": kind, "value": 0 if value is None else value},
        "product_commissions": _rates(session, read, "product_commissions", currency, True),
        "collection_commissions": _rates(session, read, "collection_commissions", currency, False),
        "tiers": _creator_tiers(read, currency),
        "stripe_account": read.text("stripe_account") or (None if creating else ""),
    }
    if value is None:
        read.errors.append(FieldError(("commission",), "give their rate"))
    if creating:
        values["handle"] = read.text("handle").lower()
        return read.schema(lambda: CreatorCreate(**values), "The creator cannot be made.")
    values["active"] = read.checked("active")
    return read.schema(lambda: CreatorUpdate(**values), "The creator cannot be saved.")


def _creator_page(
    request,
    admin,
    session,
    creator,
    posted: dict | None = None,
    refused: MercatoError | None = None,
    form: str = "",
    **shown,
):
    editing = creator is not None
    currency = get_settings().currency
    return _page(
        request,
        "creator_form.html",
        admin,
        http_status=refused.status if refused else 200,
        creator=creator,
        link=creators.link_of(creator) if editing else None,
        codes=offers.codes_of_creator(session, creator.id) if editing else [],
        figures=creators.figures(session, creator) if editing else None,
        payouts=payouts.list_payouts(session, creator.id)[:20] if editing else [],
        shown=_shown_rates(creator, currency) if editing else {},
        posted=posted or {},
        errors=by_field(refused, form) if refused else {},
        error=refused.detail if refused else None,
        currency=currency,
        timezone=get_settings().timezone,
        settings=get_settings(),
        **shown,
    )


def _shown_rates(creator, currency: str) -> dict[str, str]:
    """The creator's rates as the form writes them."""

    def rate(r: dict) -> str:
        if r["kind"] == "percentage":
            return f"{r['value'] / 100:g}%"
        return format_plain(r["value"], currency)

    default = {"kind": creator.commission_kind, "value": creator.commission_value}
    return {
        "commission_kind": creator.commission_kind,
        "commission": rate(default).removesuffix("%"),
        "tiers": "\n".join(
            f"{format_plain(t['above'], currency)}, {t['value'] / 100:g}%"
            for t in creator.tiers or []
        ),
        "product_commissions": "\n".join(
            f"{k}, {rate(r)}" for k, r in (creator.product_commissions or {}).items()
        ),
        "collection_commissions": "\n".join(
            f"{k}, {rate(r)}" for k, r in (creator.collection_commissions or {}).items()
        ),
    }


@router.get("/creators/new")
def new_creator(request: Request, session: ReadSession, admin: Admin):
    return _creator_page(request, admin, session, None)


@router.post("/creators/new")
def create_creator(request: Request, form: PostedForm, session: WriteSession, admin: Admin):
    """A new creator, or the form again with each refusal under its field."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        service.require(admin, "creators:write")
        creator, token = creators.create(session, read_creator(session, form, creating=True))
    except MercatoError as exc:
        session.rollback()
        return _creator_page(request, admin, session, None, _posted(form), exc, "")
    # Their private page is shown once, as the API answers it once: on this page, never
    # in an address (which logs and browser histories keep).
    return _creator_page(
        request,
        admin,
        session,
        creator,
        page_url=creators.page_url(token),
        message=f"Creator @{creator.handle} created.",
    )


@router.get("/creators/payouts/{payout_id}/statement.csv")
def payout_statement(payout_id: str, session: ReadSession, admin: Admin):
    return Response(
        payouts.statement_csv(session, payout_id),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{payout_id}.csv"'},
    )


@router.get("/creators/{creator_id}")
def creator_detail(request: Request, creator_id: str, session: ReadSession, admin: Admin):
    return _creator_page(request, admin, session, creators.get(session, creator_id))


def _creator_action(request, creator_id: str, form, session, admin, name: str, act):
    service.check_csrf(admin, str(form.get("csrf") or ""))
    creator = creators.get(session, creator_id)
    try:
        service.require(admin, "creators:write")
        said = act(creator)
    except MercatoError as exc:
        session.rollback()
        creator = creators.get(session, creator_id)
        return _creator_page(request, admin, session, creator, _posted(form), exc, name)
    return _back(f"/admin/creators/{creator_id}", msg=said)


@router.post("/creators/{creator_id}")
def save_creator(
    request: Request, creator_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    def save(creator) -> str:
        creators.update(session, creator.id, read_creator(session, form, creating=False))
        return "Creator saved; new rates apply to the orders credited from now on."

    return _creator_action(request, creator_id, form, session, admin, "", save)


@router.post("/creators/{creator_id}/codes")
def creator_code(
    request: Request, creator_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """A code of their own: an offer that credits them when redeemed."""

    def add(creator) -> str:
        read = Form(form)
        kind = read.text("kind") or "percentage"
        currency = read.text("currency").upper() or get_settings().currency
        value = read.percent("value") if kind == "percentage" else read.money("value", currency)
        values = {
            "code": read.text("code"),
            "kind": kind,
            "value": value or 0,
            "currency": currency if kind == "fixed" else None,
            "max_uses": read.count("max_uses"),
        }
        data = read.schema(lambda: CreatorCodeCreate(**values), "The code cannot be made.")
        offer = creators.add_code(session, creator.id, data)
        return f"Code {data.code.upper()} made ({offer.name})."

    return _creator_action(request, creator_id, form, session, admin, "code", add)


@router.post("/creators/{creator_id}/payouts")
def pay_creator(
    request: Request, creator_id: str, form: PostedForm, sessions: SessionFactories, admin: Admin
):
    """Every unpaid commission of the period marked paid in one payout (its statement the
    CSV); to a connected Stripe account it is then sent as a transfer, with no transaction
    open, as the API does."""
    service.check_csrf(admin, str(form.get("csrf") or ""))
    try:
        service.require(admin, "creators:write")
        read = Form(form)
        start, end = read.when("period_start"), read.when("period_end")
        for name, at in (("period_start", start), ("period_end", end)):
            if at is None and not any(e.loc[0] == name for e in read.errors):
                read.errors.append(FieldError((name,), "give the date"))
        if read.errors:
            raise ValidationFailed("The payout cannot be made.", read.errors)
        with transaction(sessions.write) as session:
            payout = payouts.pay(session, creator_id, start, end)
            made, send = payout.id, payout.transfer is not None
            said = (
                f"Payout of {format_plain(payout.amount, payout.currency)} {payout.currency} "
                f"for {payout.entries} lines marked paid."
            )
    except MercatoError as exc:
        with sessions.read() as session:
            creator = creators.get(session, creator_id)
            return _creator_page(request, admin, session, creator, _posted(form), exc, "payout")
    if send:
        transfer = transfers.send(sessions, made)
        said += f" Stripe transfer: {transfer.status}."
    return _back(f"/admin/creators/{creator_id}", msg=said)
