"""Storefront pages under /shop: parse the form or link, call one service, render.

Forms carry a CSRF token (HMAC of a per-browser cookie); personal details travel only
in POST bodies, never in URLs; the checkout's secret token is the only key in a URL.

One module for the shop's few pages (~660 lines of handlers and their forms): the
rules live in the checkout, catalog and customers services.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from pathlib import Path

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session

from mercato import crypto
from mercato.analytics import browser_touches, conversions, ledger
from mercato.catalog import translations
from mercato.catalog.text import safe_html
from mercato.checkout import card_element, completion, paying, sign_in
from mercato.checkout import service as checkout
from mercato.checkout.api import return_url
from mercato.checkout.limits import VISITOR_COOKIE, visitor_key
from mercato.checkout.schemas import CheckoutComplete, CheckoutCreate, CheckoutUpdate
from mercato.customers import service as customers
from mercato.db import Sessions, transaction, utcnow
from mercato.errors import Conflict, FieldError, Forbidden, MercatoError, dotted
from mercato.markets import service as markets
from mercato.markets.models import Market
from mercato.money import format_plain, to_decimal
from mercato.offers.combining import MAX_CODES
from mercato.payments import methods
from mercato.payments import service as payments
from mercato.payments.providers import ProviderError
from mercato.recommendations import experiments
from mercato.storefront import platform_carts, service
from mercato.storefront.messages import translator
from mercato.web import address_limits
from mercato.web.clients import client_signals
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
# Descriptions are sanitised when saved; again when shown, for rows saved before that.
templates.env.filters["safe_html"] = lambda html: Markup(safe_html(html))
# The marketing box's words: shown, and recorded as they are with the buyer's consent.
templates.env.globals["marketing_wording"] = paying.MARKETING_WORDING
templates.env.globals["personalisation_wording"] = paying.PERSONALISATION_WORDING
templates.env.globals["analytics_wording"] = browser_touches.CONSENT_WORDING
static = StaticFiles(directory=HERE / "static")
router = APIRouter(prefix="/shop", include_in_schema=False)
log = logging.getLogger(__name__)

CSRF_COOKIE = "mercato_csrf"
# The market the buyer chose (a market code), kept for a year.
MARKET_COOKIE = "mercato_market"
LINK_PARAMS = (
    "ch",
    "ref",
    # An offer's code carried from its link or QR to the checkout.
    "coupon",
    "post",
    "conv",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    *checkout.CLICK_KEYS,
)
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


# ---------------------------------------------------------------- rendering helpers


def locale_of(request: Request) -> str:
    header = request.headers.get("accept-language", "en-US").split(",")[0].split(";")[0]
    try:
        return str(Locale.parse(header.strip().replace("-", "_") or "en_US"))
    except (ValueError, UnknownLocaleError):
        return "en_US"


def country_of(request: Request) -> str | None:
    _, _, territory = locale_of(request).partition("_")
    return territory or None


def money(minor: int, currency: str, locale: str = "en_US") -> str:
    return format_currency(to_decimal(minor, currency), currency, locale=locale)


def _market(request: Request, session: Session, requested: str | None = None) -> Market | None:
    """The buyer's market: the link's (``?market=``, or ``requested`` from a form), their
    choice (cookie), else their country's; None when the shop has none for them."""
    return markets.resolve(
        session,
        requested=requested or request.query_params.get("market"),
        chosen=request.cookies.get(MARKET_COOKIE),
        country=country_of(request),
    )


def market_locale(request: Request, market: Market | None) -> str:
    """The locale pages are shown in: the market's language the buyer reads (theirs when
    the market has it), in the buyer's country when the market has it, else its first."""
    if market is None:
        return locale_of(request)
    language = markets.language_for(market, locale_of(request))
    if "_" in language:
        return language
    country = country_of(request)
    territory = country if country in market.countries else market.countries[0]
    try:
        return str(Locale.parse(f"{language}_{territory}"))
    except (ValueError, UnknownLocaleError):
        return language


def _checkout_locale(found) -> str | None:
    """A checkout in a market is shown in the locale it was started in (None: the
    visitor's)."""
    return found.locale if found.market else None


_CSRF_CONTEXT = b"mercato/shop-csrf/v1"


def _csrf_for(nonce: str) -> str:
    return crypto.sign(_CSRF_CONTEXT, nonce)


def _see_other(request: Request, name: str, **params) -> RedirectResponse:
    """A redirect to one of the shop's pages, as a path: never built from the Host header."""
    return RedirectResponse(request.app.url_path_for(name, **params), status_code=303)


def check_csrf(request: Request, token: str) -> None:
    nonce = request.cookies.get(CSRF_COOKIE)
    if not nonce or not crypto.signed(_CSRF_CONTEXT, nonce, token):
        raise Forbidden("This form has expired; reload the page and try again.")


def _nonce(request: Request) -> str:
    """The browser's cookie value, or the one this response will set on a first visit."""
    nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_nonce", None)
    if nonce is None:
        nonce = request.state.csrf_nonce = secrets.token_urlsafe(24)
    return nonce


def page(
    request: Request, name: str, status_code: int = 200, locale: str | None = None, **context
) -> HTMLResponse:
    nonce = _nonce(request)
    # The shop's own words are translated on pages of a market (``locale`` given).
    t = translator(locale or "en")
    locale = locale or locale_of(request)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "csrf": _csrf_for(nonce),
            "locale": locale,
            "lang": locale.split("_")[0],
            "t": t,
            "money": lambda minor, currency: money(minor, currency, locale),
            **context,
        },
        status_code=status_code,
    )
    if CSRF_COOKIE not in request.cookies:
        response.set_cookie(
            CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=request.url.scheme == "https"
        )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, sessions: Sessions, token: str, exc: MercatoError, typed: dict):
    """A refused form post: the checkout again with what was typed and why, or a problem
    page when the checkout itself is out of reach."""
    if exc.status in (403, 404):
        return _problem_page(request, exc)
    return _checkout_page(
        request,
        sessions,
        token,
        status_code=exc.status,
        errors=exc.errors,
        message=exc.detail,
        typed=typed,
    )


def _problem_page(request: Request, exc: MercatoError) -> HTMLResponse:
    return page(
        request,
        "message.html",
        exc.status,
        title=exc.title,
        detail=exc.detail,
        problems=[e.message for e in exc.errors],
    )


def _attribution(values) -> dict:
    return checkout.attribution_from_link({k: values.get(k) for k in LINK_PARAMS if values.get(k)})


def _link_params(request: Request) -> dict[str, str]:
    return {k: v[:255] for k in LINK_PARAMS if (v := request.query_params.get(k))}


def _buyer(request: Request) -> str | None:
    return customers.verify(request.cookies.get(customers.COOKIE))


def _start(request: Request, session: Session, lines, coupon: str | None, form) -> Response:
    address_limits.count_checkout_start(request)
    market = _market(request, session, form.get("market"))
    data = CheckoutCreate(
        lines=lines,
        currency=form.get("currency") or None,
        country=country_of(request),
        locale=market_locale(request, market),
        market=market.code if market else None,
        discount_code=coupon or None,
        attribution=_attribution(form),
    )
    visitor = visitor_key(request.cookies.get(CSRF_COOKIE))
    # A buyer shown an A/B arm carries it to the order, where the ledger counts it.
    if tag := experiments.checkout_tag(session, visitor):
        data.attribution.experiment = tag
    created = checkout.create_checkout(session, data, customer_id=_buyer(request), visitor=visitor)
    return _see_other(request, "checkout_page", token=created.token)


# ---------------------------------------------------------------- product and cart


@router.get("/p/{handle}", response_class=HTMLResponse)
def product(
    request: Request,
    handle: str,
    session: ReadSession,
    sessions: SessionFactories,
    currency: str | None = None,
    rx: str | None = None,
):
    country = country_of(request)
    visitor = visitor_key(_nonce(request))
    try:
        market = _market(request, session)
        shown = service.product_page(
            session,
            handle,
            market.currency if market else service.visitor_currency(currency, country),
            country,
            market,
        )
        arm = experiments.for_visitor(session, visitor)
        together, recommended = service.recommended(
            session, shown.product.id, shown.currency, market, arm.strategy if arm else "together"
        )
    except MercatoError as exc:
        return _problem_page(request, exc)
    if arm is not None:
        _count_experiment(sessions, arm, visitor, shown.product.id, rx)
    link = _link_params(request)
    locale = market_locale(request, market) if market else None
    return page(
        request,
        "product.html",
        locale=locale,
        p=shown,
        # The product's texts in the market's language (with fallbacks); its own elsewhere.
        texts=translations.localize(shown.product, locale),
        together=together,
        recommended=recommended,
        market=market,
        markets=markets.list_markets(session, active_only=True),
        link=link,
        # The row's links say which arm they came from: a click is counted for it.
        row_link={**link, "rx": arm.tag} if arm is not None else link,
        returning=_buyer(request) is not None,
    )


def _count_experiment(
    sessions: Sessions, arm: experiments.Assignment, visitor: str, product_id: str, rx: str | None
) -> None:
    """The visitor's exposure to the running experiment (once) and, when they came from
    its row, the click; in a transaction of their own, after the page's reads."""
    now = utcnow()
    with transaction(sessions.write) as session:
        experiments.record_exposure(session, arm, visitor, product_id, now)
        if rx == arm.tag:
            experiments.record_click(session, arm, product_id, now)


@router.get("/c/{handle}", response_class=HTMLResponse)
def collection(request: Request, handle: str, session: ReadSession, currency: str | None = None):
    """A collection's products for sale, each linking to its page."""
    try:
        market = _market(request, session)
        shown = service.collection_page(
            session,
            handle,
            market.currency if market else service.visitor_currency(currency, country_of(request)),
            market,
        )
    except MercatoError as exc:
        return _problem_page(request, exc)
    return page(
        request,
        "collection.html",
        locale=market_locale(request, market) if market else None,
        c=shown,
        currency=market.currency
        if market
        else service.visitor_currency(currency, country_of(request)),
        link=_link_params(request),
    )


@router.get("/market/{code}", name="choose_market")
def choose_market(request: Request, code: str, session: ReadSession, next: str = "/shop/cart"):
    """The buyer chooses a market: remembered on this device, back to the page they were
    on (a path of the shop only)."""
    try:
        market = markets.resolve(session, requested=code)
    except MercatoError as exc:
        return _problem_page(request, exc)
    target = (
        next
        if next.startswith("/shop/") and "//" not in next and "\\" not in next
        else "/shop/cart"
    )
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        MARKET_COOKIE,
        market.code,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/buy")
def buy(request: Request, form: PostedForm, session: WriteSession):
    try:
        check_csrf(request, form.get("csrf", ""))
        quantity = int(form.get("quantity") or 1)
        return _start(
            request,
            session,
            [{"variant_id": form.get("variant_id"), "quantity": quantity}],
            form.get("coupon") or None,
            form,
        )
    except MercatoError as exc:
        session.rollback()
        return _problem_page(request, exc)
    except ValueError:
        return _problem_page(request, MercatoError("Choose an option and a quantity."))


@router.get("/cart", response_class=HTMLResponse)
def cart(
    request: Request,
    session: ReadSession,
    items: str = "",
    coupon: str | None = None,
    currency: str | None = None,
):
    link = service.parse_cart_items(items)
    try:
        market = _market(request, session)
        shown_currency = (
            market.currency if market else service.visitor_currency(currency, country_of(request))
        )
        lines = service.cart_preview(session, link, shown_currency, market)
    except MercatoError as exc:
        return _problem_page(request, exc)
    return page(
        request,
        "cart.html",
        locale=market_locale(request, market) if market else None,
        market=market,
        lines=lines,
        items=items,
        coupon=coupon or "",
        currency=shown_currency,
        link=_link_params(request),
        subtotal=sum(ln.price * ln.quantity for ln in lines),
        recommended=service.goes_with(
            session, [ln.variant.id for ln in lines], shown_currency, market
        ),
    )


@router.post("/cart")
def cart_checkout(request: Request, form: PostedForm, session: WriteSession):
    link = service.parse_cart_items(form.get("items", ""))
    try:
        check_csrf(request, form.get("csrf", ""))
        if link.errors:
            raise MercatoError("This cart link is not valid.", link.errors)
        return _start(request, session, link.lines, form.get("coupon"), form)
    except MercatoError as exc:
        session.rollback()
        return _problem_page(request, exc)


@router.get("/from/{channel_id}", response_class=HTMLResponse, name="from_platform")
def from_platform(request: Request, channel_id: str, session: ReadSession):
    """Meta's checkout URL and Google's checkout URL template land here."""
    try:
        cart = platform_carts.platform_cart(session, channel_id, request.query_params)
    except MercatoError as exc:
        return _problem_page(request, exc)
    return page(request, "from_platform.html", cart=cart, query=dict(request.query_params))


@router.post("/from/{channel_id}")
def from_platform_checkout(
    request: Request, channel_id: str, form: PostedForm, session: WriteSession
):
    try:
        check_csrf(request, form.get("csrf", ""))
        cart = platform_carts.platform_cart(session, channel_id, form)
        if not cart.lines:
            raise MercatoError("Nothing in this cart can be bought now.")
        coupon = None if cart.coupon_problem else cart.coupon
        params = {**cart.tracking, "ch": cart.source, "currency": cart.currency}
        return _start(request, session, cart.checkout_lines(), coupon, params)
    except MercatoError as exc:
        session.rollback()
        return _problem_page(request, exc)


# ---------------------------------------------------------------- checkout


def _checkout_page(
    request: Request,
    sessions: Sessions,
    token: str,
    *,
    status_code: int = 200,
    errors: list[FieldError] | None = None,
    message: str | None = None,
    notice: str | None = None,
    typed: dict | None = None,
) -> HTMLResponse:
    card, card_problem = _card_form(sessions, token)
    with sessions.read() as session:
        found = checkout.get_checkout(session, token)
        shown = checkout.view(session, found)
        sandbox = paying.uses_sandbox(session)
        offered = paying.offered_methods(session, found)
    address = dict(found.shipping_address or {})
    values = {
        "email": found.email or "",
        "phone": found.phone or "",
        "discount_code": "",
        "tax_id": found.tax_id or "",
        **{f: address.get(f) or "" for f in ADDRESS_FIELDS},
        **(typed or {}),
    }
    values["country"] = values["country"] or country_of(request) or "US"
    by_field = _by_field(errors or [])
    return page(
        request,
        "checkout.html",
        status_code,
        locale=_checkout_locale(found),
        v=shown,
        c=found,
        token=token,
        values=values,
        errors=by_field,
        message=message or card_problem,
        notice=notice,
        attempt_key=uuid.uuid4().hex,
        sandbox=sandbox,
        card=card,
        # On the sandbox, the market's local methods beside its test cards (Stripe's
        # Payment Element shows them itself).
        local_methods=[methods.METHODS[m] for m in offered or () if m != "card"] if sandbox else [],
        takes_cards=offered is None or "card" in offered,
        max_codes=MAX_CODES,
    )


def _card_form(sessions: Sessions, token: str) -> tuple[card_element.CardForm | None, str | None]:
    """The provider's card element for this page, if the provider takes cards that way
    (asked with no transaction open)."""
    try:
        return card_element.card_form(sessions.write, token), None
    except ProviderError:
        log.warning("The payment provider did not answer for a checkout page.")
        return None, "Card payments are unavailable for a moment. Reload to try again."


@router.get("/checkout/{token}", response_class=HTMLResponse, name="checkout_page")
def checkout_page(request: Request, token: str, sessions: SessionFactories):
    try:
        with sessions.read() as session:
            found = checkout.get_checkout(session, token)
        if found.status == "completed":
            return _see_other(request, "thanks", token=token)
        return _checkout_page(request, sessions, token)
    except MercatoError as exc:
        return _problem_page(request, exc)


def _codes_from(form) -> list[str]:
    """The codes applied (less one removed) and the one typed to add."""
    removed = (form.get("remove_code") or "").strip().upper()
    codes = [c for c in form.getlist("applied_code") if c.strip().upper() != removed]
    if new := (form.get("discount_code") or "").strip():
        codes.append(new)
    return codes


def _update_from(form) -> CheckoutUpdate:
    address = {f: (form.get(f) or "").strip() or None for f in ADDRESS_FIELDS}
    has_address = any(address[f] for f in ("line1", "city", "name"))
    return CheckoutUpdate.model_validate(
        {
            "email": form.get("email") or None,
            "phone": form.get("phone") or None,
            "shipping_address": address if has_address else None,
            "shipping_rate": form.get("shipping_rate") or None,
            "discount_codes": _codes_from(form),
            "remember": form.get("remember") == "on",
            "marketing_opt_in": form.get("marketing_opt_in") == "on",
            "personalisation_opt_in": form.get("personalisation_opt_in") == "on",
            **({"tax_id": form.get("tax_id") or ""} if "tax_id" in form else {}),
        }
    )


def _done(request: Request, token: str, done: paying.Completion) -> Response:
    response = _see_other(request, "thanks", token=token)
    if done.checkout.customer_id:
        _remember_device(request, response, done.checkout.customer_id)
    return response


def _shown_total(form) -> int | None:
    """The total the page showed when Pay was tapped."""
    try:
        return int(form.get("shown_total") or "")
    except ValueError:
        return None


def _form_errors(exc: ValueError) -> list[FieldError]:
    return [
        FieldError(tuple(str(p) for p in e["loc"]), e["msg"])
        for e in getattr(exc, "errors", list)()
    ]


@router.post("/checkout/{token}")
def checkout_submit(request: Request, token: str, form: PostedForm, sessions: SessionFactories):
    typed = {
        k: form.get(k, "") for k in ("email", "phone", "discount_code", "tax_id", *ADDRESS_FIELDS)
    }
    try:
        check_csrf(request, form.get("csrf", ""))
        update = None if form.get("saved") == "1" else _update_from(form)
        if form.get("action") == "pay":
            pay = CheckoutComplete(
                payment_method=form.get("payment_method") or "saved",
                expected_total=_shown_total(form),
            )
            done = completion.complete(
                sessions.write,
                token,
                pay,
                attempt_key=form.get("attempt_key") or uuid.uuid4().hex,
                return_url=return_url(request, token),
                update=update,
                client=client_signals(request, cookie=request.cookies.get(VISITOR_COOKIE)),
            )
        else:
            done = None
            if update is not None:
                with transaction(sessions.write) as session:
                    checkout.update_checkout(session, token, update)
    except MercatoError as exc:
        return _refused(request, sessions, token, exc, typed)
    except ValueError as exc:  # the form held a value the schema refuses
        return _checkout_page(
            request,
            sessions,
            token,
            status_code=422,
            errors=_form_errors(exc),
            message="Some details need another look.",
            typed=typed,
        )
    return _after(request, sessions, token, done)


@router.post("/checkout/{token}/totals", name="checkout_totals")
def checkout_totals(request: Request, token: str, form: PostedForm, sessions: SessionFactories):
    """The page's script, as the buyer types: save the details and answer with the
    totals (summary, Pay button, the total Pay will post), so the button always shows
    what would be charged."""
    errors: list[FieldError] = []
    try:
        check_csrf(request, form.get("csrf", ""))
        update = _update_from(form)
        with transaction(sessions.write) as session:
            checkout.update_checkout(session, token, update)
    except MercatoError as exc:
        if exc.status in (403, 404):
            return _json_problem(exc.status, exc.detail, exc.errors)
        errors = exc.errors
    except ValueError as exc:
        errors = _form_errors(exc)
    answer = _totals(request, sessions, token)
    if errors:
        answer["errors"] = _by_field(errors)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


def _by_field(errors: list[FieldError]) -> dict[str, str]:
    """Each error under its field's name (a list's, for one of its items: a code)."""
    by_field: dict[str, str] = {}
    for error in errors:
        name = next((p for p in reversed(error.loc) if isinstance(p, str)), dotted(error.loc))
        by_field.setdefault(name, error.message)
    return by_field


def _totals(request: Request, sessions: Sessions, token: str) -> dict:
    """The checkout's totals as the page shows them."""
    with sessions.read() as session:
        found = checkout.get_checkout(session, token)
        shown = checkout.view(session, found)
        locale = _checkout_locale(found) or locale_of(request)
        t = translator(locale if found.market else "en")
        return {
            "pay": t("Pay {amount}", amount=money(found.total, found.currency, locale)),
            "shown_total": found.total,
            "summary": templates.get_template("checkout_summary.html").render(
                v=shown, c=found, money=lambda m, c: money(m, c, locale), t=t
            ),
            "shipping": {
                code: money(price, found.currency, locale) if price else t("Free")
                for code, price in shown.shipping_prices.items()
            },
        }


@router.post("/checkout/{token}/card", name="card_payment")
def card_payment(request: Request, token: str, form: PostedForm, sessions: SessionFactories):
    """Pay with the provider's card element: save the details and bring the intent to
    the total the page showed, in JSON; the buyer's browser then confirms it with the
    provider. A different total answers with the new one and charges nothing."""
    try:
        check_csrf(request, form.get("csrf", ""))
        update = None if form.get("saved") == "1" else _update_from(form)
        ready = card_element.prepare_card_payment(
            sessions.write,
            token,
            update,
            _shown_total(form),
        )
    except MercatoError as exc:
        return _json_problem(exc.status, exc.detail, exc.errors)
    except ValueError as exc:  # the form held a value the schema refuses
        return _json_problem(422, "Some details need another look.", _form_errors(exc))
    if isinstance(ready, paying.Completion):
        if ready.status == "total_changed":
            answer = {
                **_totals(request, sessions, token),
                "changed": True,
                "message": ready.message,
            }
            return JSONResponse(answer, headers={"Cache-Control": "no-store"})
        if ready.status != "completed":
            return _json_problem(409, ready.message or "", [])
        done = _done(request, token, ready)
        response = JSONResponse({"redirect": done.headers["location"]})
        for cookie in done.headers.getlist("set-cookie"):
            response.headers.append("set-cookie", cookie)
        return response
    answer = {"intent": ready.intent_ref, "return_url": return_url(request, token)}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


def _json_problem(status: int, detail: str, errors: list[FieldError]) -> JSONResponse:
    return JSONResponse({"message": detail, "errors": _by_field(errors)}, status_code=status)


def _after(
    request: Request, sessions: Sessions, token: str, done: paying.Completion | None
) -> Response:
    if done is None:
        return _see_other(request, "checkout_page", token=token)
    if done.status == "completed":
        return _done(request, token, done)
    if done.status == "requires_action":
        return RedirectResponse(done.next_action_url, status_code=303)
    if done.status == "waiting":
        return _see_other(request, "waiting_page", token=token)
    return _checkout_page(
        request,
        sessions,
        token,
        message=done.message,
        status_code={"processing": 202, "declined": 402}.get(done.status, 409),
    )


@router.get("/checkout/{token}/return", response_class=HTMLResponse, name="checkout_return")
def checkout_return(
    request: Request,
    token: str,
    sessions: SessionFactories,
    authenticate: str | None = None,
    authorize: str | None = None,
    payment_intent: str | None = None,
):
    """Back from the bank's authentication (or the sandbox's stand-in for it), or from
    the provider's element or a redirect method's bank, which name the intent the
    browser confirmed (``payment_intent``, with ``payment_intent_client_secret`` and
    ``redirect_status``, as Stripe sends them). Only the provider's word on the intent
    is taken, never the address's."""
    try:
        if authenticate:
            with sessions.read() as session:
                checkout.get_checkout(session, token)
            return page(request, "authenticate.html", token=token)
        if authorize:
            return _bank_page(request, sessions, token, authorize[:255])
        done = completion.resume(
            sessions.write,
            token,
            intent_ref=payment_intent[:255] if payment_intent else None,
        )
    except MercatoError as exc:
        return _problem_page(request, exc)
    return _after(request, sessions, token, done)


def _bank_page(request: Request, sessions: Sessions, token: str, intent_ref: str) -> Response:
    """The sandbox's stand-in for a redirect method's bank page (iDEAL, Bancontact,
    Klarna): the buyer authorises or fails the payment of the amount shown."""
    with sessions.read() as session:
        found = checkout.get_checkout(session, token)
        payment = payments.by_intent(session, intent_ref)
        if payment is None or payment.checkout_id != found.id or payment.provider != "sandbox":
            raise Conflict("This checkout is not waiting for a bank.")
        method = methods.METHODS.get(payment.method or "")
    return page(
        request,
        "authenticate.html",
        locale=_checkout_locale(found),
        token=token,
        method=method,
        amount=money(payment.amount, payment.currency, _checkout_locale(found) or "en"),
    )


@router.post("/checkout/{token}/authenticate")
def sandbox_authenticate(request: Request, token: str, form: PostedForm, session: WriteSession):
    try:
        check_csrf(request, form.get("csrf", ""))
        back = paying.authenticate_in_sandbox(session, token, form.get("answer") == "approve")
    except MercatoError as exc:
        session.rollback()
        return _problem_page(request, exc)
    if back is not None:  # a redirect method: back to return_url, as the bank sends buyers
        return RedirectResponse(back, status_code=303)
    return _see_other(request, "checkout_return", token=token)


@router.get("/checkout/{token}/waiting", response_class=HTMLResponse, name="waiting_page")
def waiting_page(request: Request, token: str, sessions: SessionFactories):
    """Waiting for a voucher or code the buyer pays elsewhere (Boleto, Pix): how much, by
    when, and where; it reloads itself, and goes on to the thanks page once the
    provider says paid."""
    try:
        wait = completion.waiting(sessions.write, token)
    except MercatoError as exc:
        return _problem_page(request, exc)
    if wait.checkout.status == "completed":
        return _see_other(request, "thanks", token=token)
    locale = _checkout_locale(wait.checkout) or locale_of(request)
    return page(
        request,
        "waiting.html",
        locale=_checkout_locale(wait.checkout),
        token=token,
        w=wait,
        sandbox=wait.payment is not None and wait.payment.provider == "sandbox",
        # In UTC: the buyer's own time zone is not known here.
        pay_by=format_datetime(wait.intent.pay_by, "short", locale=locale) + " UTC"
        if wait.intent and wait.intent.pay_by
        else None,
    )


@router.post("/checkout/{token}/waiting")
def sandbox_settle(request: Request, token: str, form: PostedForm, sessions: SessionFactories):
    """The sandbox's stand-in for the buyer paying the voucher or code (or letting it
    lapse): the provider's signed event reaches the shop's webhook as it would."""
    try:
        check_csrf(request, form.get("csrf", ""))
        completion.settle_in_sandbox(sessions.write, token, form.get("answer") == "paid")
    except MercatoError as exc:
        return _problem_page(request, exc)
    return _see_other(request, "waiting_page", token=token)


@router.post("/checkout/{token}/login-link")
def login_link(request: Request, token: str, form: PostedForm, sessions: SessionFactories):
    """A returning buyer on a new device asks for a one-time sign-in link."""
    typed = {
        k: form.get(k, "") for k in ("email", "phone", "discount_code", "tax_id", *ADDRESS_FIELDS)
    }
    try:
        check_csrf(request, form.get("csrf", ""))
        address_limits.count_login_link_request(request)
        with transaction(sessions.write) as session:
            sign_in.send_login_link(session, token, form.get("email"))
    except MercatoError as exc:
        return _refused(request, sessions, token, exc, typed)
    return _checkout_page(
        request,
        sessions,
        token,
        typed=typed,
        notice=(
            "If you have shopped here with this email, a sign-in link is on its way to it. "
            f"It works once, within {customers.LOGIN_LINK_TTL.seconds // 60} minutes."
        ),
    )


@router.get("/login/{link}", name="login")
def login(request: Request, link: str, session: WriteSession):
    """Follow a sign-in link: this device remembers the buyer, who is back at their
    checkout with their saved address and payment method."""
    try:
        signed_in, token = sign_in.sign_in(session, link)
    except MercatoError as exc:
        session.rollback()
        return _problem_page(request, exc)
    if token is None:
        response = page(
            request,
            "message.html",
            title="You're signed in",
            detail="This device remembers you now for faster checkout.",
        )
    else:
        response = _see_other(request, "checkout_page", token=token)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    _remember_device(request, response, signed_in.customer.id)
    return response


def _remember_device(request: Request, response: Response, customer_id: str) -> None:
    response.set_cookie(
        customers.COOKIE,
        customers.sign(customer_id),
        max_age=customers.COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@router.get("/checkout/{token}/thanks", response_class=HTMLResponse, name="thanks")
def thanks(request: Request, token: str, session: ReadSession):
    try:
        found = checkout.get_checkout(session, token)
    except MercatoError as exc:
        return _problem_page(request, exc)
    if found.status != "completed":
        return _see_other(request, "checkout_page", token=token)
    shown = checkout.view(session, found)
    # The merchant's own ad pixel reads the purchase's event id from the page, so that the
    # ad platforms count the browser's and the server's purchase once.
    purchase = {
        "event_id": conversions.purchase_event_id(shown.order.number),
        "value": format_plain(found.total, found.currency),
        "currency": found.currency,
    }
    return page(
        request,
        "thanks.html",
        locale=_checkout_locale(found),
        v=shown,
        c=found,
        purchase_event=ledger.purchase_event_id(shown.order.id) if shown.order else None,
        purchase=purchase,
        recommended=service.goes_with(
            session,
            [ln.variant_id for ln in shown.lines],
            found.currency,
            session.get(Market, found.market) if found.market else None,
        ),
    )


@router.post("/forget-me")
def forget_me(request: Request, form: PostedForm, session: WriteSession):
    """Forget the saved payment method and this device."""
    try:
        check_csrf(request, form.get("csrf", ""))
    except MercatoError as exc:
        return _problem_page(request, exc)
    customer_id = _buyer(request)
    if customer_id:
        customers.forget_payment_method(session, customer_id)
    response = page(
        request, "message.html", title="Forgotten", detail="This device no longer remembers you."
    )
    response.delete_cookie(customers.COOKIE)
    return response
