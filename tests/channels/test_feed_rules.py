"""Feed rules: a channel's own fixes of its items, previewed before saving, applied alike
to the checks, the feed file and the pushes, and named in what each item shows."""

from __future__ import annotations

import json

from lxml import etree
from sqlalchemy.orm import Session

from mercato.channels import sync
from mercato.channels.feeds import G_NS
from mercato.channels.models import Channel
from tests.channels.test_check_and_feeds import TEMPLATE, mercato
from tests.helpers import signed_in, tee

G = f"{{{G_NS}}}"
# A shirt sold in sizes only: Google wants a colour for apparel.
PLAIN = tee(
    handle="plain",
    options=["Size"],
    variants=[{"sku": "PLAIN-M", "option_values": ["M"], "price": 2500, "mpn": "MPN-PLAIN-M"}],
)
COLOUR = {
    "name": "Colour for apparel",
    "when": [{"field": "color", "op": "empty"}],
    "then": {"action": "set", "field": "color", "value": "Multicolor"},
}


def _issues(channel: str) -> list[dict]:
    return json.loads(mercato("channels", "check", channel, "--json").output)["issues"]


def _feed(client, admin, channel_id: str) -> list:
    issued = client.post(f"/api/v1/channels/{channel_id}/feed-token", headers=admin).json()
    response = client.get(issued["url"].split("8000", 1)[1])
    assert response.status_code == 200
    return etree.fromstring(response.content).findall("channel/item")


def test_a_rule_fixes_missing_colours_for_google_on_every_affected_item(
    engine, client, admin, sessions, make_channel, make_products
):
    assert mercato("import", "shopify", TEMPLATE).exit_code == 0
    make_products(tee())
    channel_id = make_channel("google")
    uncoloured = {i["sku"] for i in _issues("google") if i["field"] == "color"}
    assert uncoloured and all(sku.startswith(("PNT", "HAT")) for sku in uncoloured)
    with Session(engine) as session:
        key_before = sync.target_key(session.get(Channel, channel_id))

    preview = client.post(
        f"/api/v1/channels/{channel_id}/feed-rules/preview",
        headers=admin,
        json={"rules": [COLOUR], "limit": 100},
    )
    assert preview.status_code == 200, preview.text
    shown = {i["sku"]: i for i in preview.json()["items"]}
    for sku in uncoloured:
        assert shown[sku]["changes"] == {"color": [None, "Multicolor"]}
        assert shown[sku]["notes"] == ["color set by rule 1 (Colour for apparel)"]
        assert shown[sku]["issues_after"] < shown[sku]["issues_before"]
    assert preview.json()["items_changed"] == len(uncoloured)
    # A preview saves nothing.
    saved = client.get(f"/api/v1/channels/{channel_id}/feed-rules", headers=admin).json()
    assert saved == {"channel_id": channel_id, "version": 0, "rules": []}
    assert {i["sku"] for i in _issues("google") if i["field"] == "color"} == uncoloured

    put = client.put(
        f"/api/v1/channels/{channel_id}/feed-rules", headers=admin, json={"rules": [COLOUR]}
    )
    assert put.status_code == 200 and put.json()["version"] == 1
    assert [i for i in _issues("google") if i["field"] == "color"] == []
    # The feed file too: a shirt without a colour was left out, and is in it now.
    make_products(PLAIN)
    client.put(f"/api/v1/channels/{channel_id}/feed-rules", headers=admin, json={"rules": []})
    assert "MPN-PLAIN-M" not in {i.findtext(G + "mpn") for i in _feed(client, admin, channel_id)}
    client.put(f"/api/v1/channels/{channel_id}/feed-rules", headers=admin, json={"rules": [COLOUR]})
    colours = {
        i.findtext(G + "mpn"): i.findtext(G + "color") for i in _feed(client, admin, channel_id)
    }
    # Items that had a colour keep theirs; the next publish compares the whole catalog.
    assert colours["MPN-PLAIN-M"] == "Multicolor" and colours["MPN-TEE-M"] == "Blue"
    # The product's page says which rule made its colour.
    merchant = signed_in(client, sessions, "catalog:read", "channels:read")
    [plain] = [
        p
        for p in client.get("/api/v1/products", headers=admin).json()["items"]
        if p["handle"] == "plain"
    ]
    page = merchant.get(f"/admin/catalog/{plain['id']}").text
    assert "PLAIN-M color set by rule 1 (Colour for apparel)" in page
    with Session(engine) as session:
        assert sync.target_key(session.get(Channel, channel_id)) != key_before


def test_templates_and_exclusions_and_refused_rules(client, admin, make_products, make_channel):
    make_products(tee())
    channel_id = make_channel("google")
    rules = [
        {
            "name": "No small sizes on Google",
            "when": [{"field": "sku", "op": "contains", "value": "TEE-S"}],
            "then": {"action": "exclude"},
        },
        {"then": {"action": "template", "field": "title", "template": "{brand} {title} {size}"}},
    ]
    saved = client.put(
        f"/api/v1/channels/{channel_id}/feed-rules", headers=admin, json={"rules": rules}
    )
    assert saved.status_code == 200, saved.text
    [left_out] = [i for i in _issues("google") if i.get("source") == "rule"]
    assert left_out["sku"] == "TEE-S"
    assert left_out["message"] == "left out of this channel by rule 1 (No small sizes on Google)"
    [item] = _feed(client, admin, channel_id)
    assert item.findtext(G + "title") == "Acme Organic Tee M"

    refused = client.put(
        f"/api/v1/channels/{channel_id}/feed-rules",
        headers=admin,
        json={"rules": [{"then": {"action": "set", "field": "price", "value": "1"}}]},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"][:5] == ["body", "rules", 0, "then", "field"]
    bad_template = client.put(
        f"/api/v1/channels/{channel_id}/feed-rules",
        headers=admin,
        json={"rules": [{"then": {"action": "template", "field": "title", "template": "{nope}"}}]},
    )
    assert bad_template.status_code == 422 and "nope" in bad_template.text
    kept = client.get(f"/api/v1/channels/{channel_id}/feed-rules", headers=admin).json()
    assert kept["version"] == 1 and len(kept["rules"]) == 2
