"""The checkout page takes a second code and lets the buyer remove one; a code that does
not go with the ones applied is refused under the field, naming both."""

from __future__ import annotations

from tests.checkout.helpers import make_shop
from tests.helpers import hidden_fields
from tests.offers.helpers import make_code


def _checkout_with(client, coupon: str) -> tuple[str, str]:
    page = client.get(f"/shop/cart?items=HOODIE-M:2&coupon={coupon}")
    started = client.post("/shop/cart", data=hidden_fields(page.text), follow_redirects=False)
    url = started.headers["location"]
    return url, client.get(url).text


def _post(client, url: str, html: str, **form):
    csrf = hidden_fields(html)["csrf"]
    return client.post(url, data={"csrf": csrf, **form}, follow_redirects=True)


def test_a_second_code_is_added_and_one_removed(client, sessions):
    make_shop(sessions)
    make_code(sessions, "SPRING10", combinable=True)
    make_code(sessions, "FIVE", "fixed", 500, currency="USD", combinable=True)
    url, html = _checkout_with(client, "SPRING10")
    assert 'name="applied_code" value="SPRING10"' in html

    added = _post(client, url, html, applied_code="SPRING10", discount_code="five", action="update")
    assert added.status_code == 200
    assert 'name="applied_code" value="SPRING10"' in added.text
    assert 'name="applied_code" value="FIVE"' in added.text
    # 10% of 50.00, then 5.00 off the 45.00 left.
    assert "Discount (SPRING10, FIVE)" in added.text and "−$10.00" in added.text

    removed = _post(
        client, url, added.text, applied_code=["SPRING10", "FIVE"], remove_code="SPRING10"
    )
    assert 'name="applied_code" value="SPRING10"' not in removed.text
    assert "Discount (FIVE)" in removed.text and "−$5.00" in removed.text


def test_a_code_that_does_not_combine_is_refused_on_the_page(client, sessions):
    make_shop(sessions)
    make_code(sessions, "SPRING10")
    make_code(sessions, "FIVE", "fixed", 500, currency="USD", combinable=True)
    url, html = _checkout_with(client, "SPRING10")
    refused = _post(
        client, url, html, applied_code="SPRING10", discount_code="FIVE", action="update"
    )
    assert refused.status_code == 422
    assert "FIVE cannot be combined with SPRING10" in refused.text
    assert 'value="FIVE"' in refused.text  # what was typed stays in the field
    again = client.get(url).text
    assert "Discount (SPRING10)" in again and 'name="applied_code" value="FIVE"' not in again
