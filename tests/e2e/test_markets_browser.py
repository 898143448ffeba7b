"""Buyers from three markets at a phone viewport: a Dutch buyer sees euros, the shop's
words in Dutch and prices with VAT inside, and pays by card or with iDEAL (through the
sandbox's stand-in of the bank's page, as Stripe's test mode has one); a US buyer sees
sales tax added before paying; a UK buyer of goods from the US sees the duties before
paying. Each is charged exactly the total on the Pay button (the payment sandbox's ledger
says what it took)."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from mercato.catalog.models import Variant
from mercato.db import transaction
from mercato.markets import fx
from mercato.markets import service as markets
from mercato.markets.schemas import MarketCreate
from mercato.orders.models import Order
from mercato.payments import service as payments
from mercato.payments.models import Payment
from tests.checkout.helpers import make_shop

MARKETS = [
    MarketCreate(
        code="nl",
        name="Nederland",
        countries=["NL", "BE"],
        currency="EUR",
        languages=["nl", "en"],
        tax_mode="inclusive",
        price_ending="0.99",
        payment_methods=["card", "ideal"],
    ),
    MarketCreate(
        code="us",
        name="United States",
        countries=["US"],
        currency="USD",
        languages=["en"],
        tax_mode="exclusive",
    ),
    MarketCreate(
        code="uk",
        name="United Kingdom",
        countries=["GB"],
        currency="GBP",
        languages=["en_GB"],
        tax_mode="inclusive",
        duties="ddp",
    ),
]
AMSTERDAM = {
    "name": "Anna de Vries",
    "line1": "Damrak 1",
    "city": "Amsterdam",
    "postal_code": "1012 LG",
    "country": "NL",
}
TEXAS = {
    "name": "Tex Buyer",
    "line1": "500 Congress Ave",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
}
LONDON = {
    "name": "Lee Buyer",
    "line1": "10 Downing Street",
    "city": "London",
    "postal_code": "SW1A 2AA",
    "country": "GB",
}


def _shop(sessions, server, price: int, **attributes):
    make_shop(sessions, price=price, image=f"{server}/shop/static/placeholder.svg")
    with transaction(sessions) as session:
        for data in MARKETS:
            markets.create_market(session, data)
        if attributes:
            for variant in session.scalars(select(Variant)):
                variant.attributes = {**(variant.attributes or {}), **attributes}


def _charged(sessions) -> list[int]:
    with sessions() as session:
        refs = session.scalars(select(Payment.intent_ref).where(Payment.status == "succeeded"))
        return [payments.sandbox().retrieve(ref).amount for ref in refs]


def _fill(page, address: dict, email: str):
    page.fill("input[name=email]", email)
    for field, value in address.items():
        page.fill(f"input[name={field}]", value)
    page.locator("input[name=email]").focus()  # leaving the last field: totals are redone


def _phone(browser, locale: str):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )
    context.set_default_timeout(15_000)
    return context


def test_a_dutch_buyer_sees_euros_dutch_words_and_vat_inside(server, browser, sessions, shots):
    _shop(sessions, server, price=2500)
    context = _phone(browser, "nl-NL")
    page = context.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    # 25.00 USD at 0.92 is EUR 23.00, ending .99.
    expect(page.locator("#price")).to_have_text("€\xa023,99")
    expect(page.locator(".tax-note")).to_contain_text("Inclusief btw.")
    page.screenshot(path=str(shots / "markets-1-nl-product.png"), full_page=True)
    page.get_by_role("button", name="Nu kopen").tap()
    page.wait_for_url("**/shop/checkout/**")
    _fill(page, AMSTERDAM, "anna@example.nl")
    pay = page.locator("#details button.pay")
    # EUR 23.99 + 6.00 shipping; 21 % BTW inside the price (4.16), nothing added.
    expect(pay).to_have_text("Betaal €\xa029,99", timeout=30_000)
    expect(page.locator("#tax")).to_contain_text("Inclusief BTW")
    expect(page.locator("#tax")).to_contain_text("€\xa04,16")
    expect(page.get_by_role("heading", name="Verzendadres")).to_be_visible()
    page.screenshot(path=str(shots / "markets-2-nl-checkout.png"), full_page=True)
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [2999]
    context.close()


def test_a_dutch_buyer_pays_with_ideal_and_is_charged_what_was_shown(
    server, browser, sessions, shots
):
    _shop(sessions, server, price=2500)
    context = _phone(browser, "nl-NL")
    page = context.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    expect(page.locator("#price")).to_have_text("€\xa023,99")
    page.get_by_role("button", name="Nu kopen").tap()
    page.wait_for_url("**/shop/checkout/**")
    _fill(page, AMSTERDAM, "anna@example.nl")
    pay = page.locator("#details button.pay")
    expect(pay).to_have_text("Betaal €\xa029,99", timeout=30_000)
    expect(page.locator("#tax")).to_contain_text("Inclusief BTW")
    expect(page.get_by_text("Kies hoe je betaalt")).to_be_visible()
    page.locator("input[name=payment_method][value=ideal]").check()
    page.locator("label.method").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "markets-5-nl-ideal-choice.png"), full_page=True)
    pay.tap()
    # Off to the bank (the sandbox's stand-in for it): the amount is the one shown.
    page.wait_for_url("**/return?authorize=*")
    expect(page.get_by_role("heading", name="iDEAL")).to_be_visible()
    expect(page.locator("#bank-amount")).to_have_text("€\xa029,99")
    page.screenshot(path=str(shots / "markets-6-nl-ideal-bank.png"), full_page=True)
    assert _charged(sessions) == []  # nothing is paid until the bank says so
    page.get_by_role("button", name="Authorise test payment").tap()
    # Back at the return address with the intent, as Stripe sends buyers back.
    page.wait_for_url("**/thanks")
    expect(page.get_by_role("heading", name="Bedankt!")).to_be_visible()
    page.screenshot(path=str(shots / "markets-7-nl-ideal-thanks.png"), full_page=True)
    assert _charged(sessions) == [2999]
    with sessions() as session:
        (order,) = session.scalars(select(Order))
        (method,) = session.scalars(select(Payment.method))
    assert (order.total, order.currency, method) == (2999, "EUR", "ideal")
    context.close()


def test_a_us_buyer_sees_sales_tax_added_before_paying(server, browser, sessions, shots):
    _shop(sessions, server, price=2500)
    context = _phone(browser, "en-US")
    page = context.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    expect(page.locator("#price")).to_have_text("$25.00")
    expect(page.locator(".tax-note")).to_contain_text("Tax calculated at checkout.")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    pay = page.locator("#details button.pay")
    expect(pay).to_have_text("Pay $30.00")  # before the address: shipping, no tax yet
    _fill(page, TEXAS, "tex@example.com")
    # 25.00 + 6.25 % Texas sales tax (1.56) + 5.00 shipping.
    expect(pay).to_have_text("Pay $31.56", timeout=30_000)
    expect(page.locator("#tax")).to_contain_text("$1.56")
    page.screenshot(path=str(shots / "markets-3-us-checkout.png"), full_page=True)
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [3156]
    context.close()


def test_a_cross_border_buyer_sees_duties_before_paying(server, browser, sessions, shots):
    _shop(sessions, server, price=25000, hs_code="6109.10", origin="US")
    context = _phone(browser, "en-GB")
    page = context.new_page()
    page.goto(f"{server}/shop/p/hoodie?market=uk")
    expect(page.locator("#price")).to_have_text("£197.50")
    page.get_by_role("button", name="Buy now").tap()
    page.wait_for_url("**/shop/checkout/**")
    _fill(page, LONDON, "lee@example.co.uk")
    pay = page.locator("#details button.pay")
    # GBP 197.50 is over the GBP 135 relief: 12 % duty (23.70), delivered duties paid.
    expect(pay).to_have_text("Pay £221.20", timeout=30_000)
    expect(page.locator("#duties")).to_contain_text("Duties")
    expect(page.locator("#duties")).to_contain_text("£23.70")
    expect(page.locator("#tax")).to_contain_text("£32.92")  # 20 % VAT inside the price
    page.screenshot(path=str(shots / "markets-4-uk-duties.png"), full_page=True)
    pay.tap()
    page.wait_for_url("**/thanks")
    assert _charged(sessions) == [22120]
    context.close()


SAO_PAULO = {
    "name": "Bruna Lima",
    "line1": "Avenida Paulista 1000",
    "city": "São Paulo",
    "region": "SP",
    "postal_code": "01310-100",
    "country": "BR",
}


def test_a_brazilian_buyer_waits_for_the_boleto_and_the_order_follows_the_payment(
    server, browser, sessions, shots
):
    _shop(sessions, server, price=2500)
    with transaction(sessions) as session:
        fx.import_rates(session, "currency,rate,date\nBRL,5.0,2026-12-04\n", source="test.csv")
        markets.create_market(
            session,
            MarketCreate(
                code="br",
                name="Brasil",
                countries=["BR"],
                currency="BRL",
                languages=["pt_BR"],
                tax_mode="inclusive",
                payment_methods=["card", "pix", "boleto"],
            ),
        )
    context = _phone(browser, "pt-BR")
    page = context.new_page()
    page.goto(f"{server}/shop/p/hoodie")
    page.get_by_role("button", name="Comprar agora").tap()
    page.wait_for_url("**/shop/checkout/**")
    _fill(page, SAO_PAULO, "bruna@example.com.br")
    pay = page.locator("#details button.pay")
    # 25.00 USD at 5.0 is BRL 125.00; international shipping 20.00 USD is BRL 100.00.
    expect(pay).to_have_text("Pagar R$\xa0225,00", timeout=30_000)
    page.locator("input[name=payment_method][value=boleto]").check()
    pay.tap()
    page.wait_for_url("**/waiting")
    expect(page.get_by_role("heading", name="Aguardando seu pagamento")).to_be_visible()
    expect(page.locator("#pay-by")).to_contain_text("R$\xa0225,00")
    expect(page.locator("#payment-code")).to_be_visible()
    page.screenshot(path=str(shots / "markets-8-br-boleto-waiting.png"), full_page=True)
    assert _charged(sessions) == []
    with sessions() as session:
        assert session.scalars(select(Order)).all() == []
    # The buyer pays the voucher; the provider's signed event places the order, and the
    # page, reloading by itself, goes on to the thanks page.
    page.get_by_role("button", name="Pay the Boleto").tap()
    page.wait_for_url("**/thanks")
    expect(page.get_by_role("heading", name="Obrigado!")).to_be_visible()
    page.screenshot(path=str(shots / "markets-9-br-boleto-thanks.png"), full_page=True)
    assert _charged(sessions) == [22500]
    context.close()
