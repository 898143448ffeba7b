"""The dashboard's control page of a live: go live, pin with a live price, change it,
watch stock and sales per channel, end; asked of tokens with the live scope only."""

from __future__ import annotations

import re

from tests.checkout.helpers import make_shop
from tests.helpers import log_in, signed_in

API = "/api/v1/live-events"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_the_host_runs_the_live_from_the_dashboard(client, admin, sessions):
    make_shop(sessions, on_hand=10, sizes=("M",))
    body = {"title": "Friday drop", "products": [{"sku": "HOODIE-M"}]}
    event_id = client.post(API, json=body, headers=admin).json()["id"]
    pools = {"sku": "HOODIE-M", "pools": {"storefront": 6, "chn_tiktok": 3}}
    client.put(f"{API}/{event_id}/pools", json=pools, headers=admin)

    assert log_in(client, sessions, "live:write").status_code == 303
    listed = client.get("/admin/live")
    assert listed.status_code == 200 and "Friday drop" in listed.text
    assert client.get("/admin/orders").status_code == 403
    page = client.get(f"/admin/live/{event_id}").text
    csrf = _csrf(page)
    assert client.post(f"/admin/live/{event_id}/start", data={"csrf": csrf}).status_code == 200
    variant_id = re.search(r'name="variant_id" value="([^"]+)"', page).group(1)
    pinned = client.post(
        f"/admin/live/{event_id}/pin",
        data={"csrf": csrf, "variant_id": variant_id, "live_price": "17.50"},
    )
    assert "Pinned." in pinned.text and "17.50 USD" in pinned.text
    bad = client.post(f"/admin/live/{event_id}/price", data={"csrf": csrf, "live_price": "1.234"})
    assert "live_price" in bad.text or "decimal" in bad.text
    priced = client.post(f"/admin/live/{event_id}/price", data={"csrf": csrf, "live_price": "15"})
    assert "15.00 USD" in priced.text
    rows = [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in priced.text.split("<tr>")]
    assert any(r.startswith("HOODIE-M storefront 6 0 0") for r in rows)
    assert any(r.startswith("HOODIE-M held back 1") for r in rows)
    ended = client.post(f"/admin/live/{event_id}/end", data={"csrf": csrf})
    assert "Ended" in ended.text
    kinds = [m["kind"] for m in client.get(f"{API}/{event_id}/moments", headers=admin).json()]
    assert kinds == ["created", "fenced", "started", "pinned", "priced", "ended"]


def test_a_reader_without_the_live_scope_sees_no_live_page(client, sessions):
    signed_in(client, sessions, "orders:read")
    assert client.get("/admin/live").status_code == 403
