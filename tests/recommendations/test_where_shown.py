"""Where recommendations show beyond the product page: the cart's "complete the look",
and the inbox thread's suggestions to send (for an agent allowed to read them)."""

from __future__ import annotations

from sqlalchemy import select

from mercato.inbox.models import Conversation
from mercato.recommendations import training
from tests.admin.test_inbox_pages import ADA, number, writes  # noqa: F401
from tests.helpers import signed_in
from tests.recommendations.conftest import NOW


def test_the_cart_shows_what_goes_with_it_less_what_it_holds(client, sessions, history):
    for _ in range(3):
        history.order("espresso", "grinder", "filters")
    history.order("grinder", "kettle")
    history.order("grinder", "kettle")
    history.order("tea")
    history.order("tea")
    training.train(sessions, NOW)

    page = client.get("/shop/cart", params={"items": "ESPRESSO:1,GRINDER:1"}).text
    row = page.split("Complete the look")[1]
    assert "Filters Equipment" in row and "Kettle Equipment" in row
    assert "Espresso Coffee" not in row and "Grinder Equipment" not in row
    # Nothing goes with a product no one bought with anything: no row at all.
    assert "Complete the look" not in client.get("/shop/cart", params={"items": "TEA:1"}).text


def test_the_inbox_thread_suggests_products_to_send(
    client,
    sessions,
    history,
    writes,  # noqa: F811
):
    for _ in range(4):
        history.order("tea")
    history.order("kettle")
    training.train(sessions, NOW)
    writes(ADA, "Hi, anything new?")
    with sessions() as session:
        conversation = session.scalars(select(Conversation)).one()

    agent = signed_in(client, sessions, "inbox:write", "recommendations:read", name="mia")
    page = agent.get(f"/admin/inbox/{conversation.id}").text
    suggested = page.split("Suggested for them")[1].split("</details>")[0]
    # No consent to personalisation on record: what sells, best first, each one click.
    assert suggested.index("Tea Tea") < suggested.index("Kettle Equipment")
    assert 'name="sku" value="TEA"' in suggested

    other = signed_in(client, sessions, "inbox:write", name="leo")
    assert "Suggested for them" not in other.get(f"/admin/inbox/{conversation.id}").text


def test_in_a_market_the_row_shows_the_markets_own_prices(client, admin, sessions, history):
    from tests.markets.test_markets import NL, market

    for _ in range(3):
        history.order("espresso", "grinder")
    history.order("tea")
    history.order("tea")
    training.train(sessions, NOW)
    market(client, admin, NL)
    listed = client.put(
        "/api/v1/markets/nl/prices",
        json={"prices": [{"sku": "GRINDER", "price": "17.45"}]},
        headers=admin,
    )
    assert listed.status_code == 200, listed.text
    page = client.get("/shop/p/espresso", params={"market": "nl"}).text
    row = page.split('class="recommended"')[1].split("</section>")[0]
    assert "17,45" in row  # the price list's, in Dutch form, not a conversion
