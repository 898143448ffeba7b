"""WhatsApp message bodies and their documented limits (docs/platforms/whatsapp.md §3)."""

from __future__ import annotations

import pytest

from mercato.channels.whatsapp import mapping

TO = "16505551234"


def test_text():
    assert mapping.text(TO, "Hello", reply_to="wamid.X") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "Hello", "preview_url": False},
        "context": {"message_id": "wamid.X"},
    }
    assert mapping.text(TO, "x" * 4096, preview_url=True)["text"]["preview_url"] is True


@pytest.mark.parametrize(
    "call,field",
    [
        (lambda: mapping.text(TO, ""), "body"),
        (lambda: mapping.text(TO, "x" * 4097), "body"),
        (lambda: mapping.text("+16505551234", "hi"), "to"),
        (lambda: mapping.text("0650555", "hi"), "to"),
        (lambda: mapping.text("1" * 16, "hi"), "to"),
        (lambda: mapping.text(TO, "hi", reply_to=""), "reply_to"),
        (lambda: mapping.template(TO, "", "en_US"), "name"),
        (lambda: mapping.template(TO, "hello", ""), "language"),
        (lambda: mapping.template(TO, "hello", "en", [{"parameters": []}]), r"components\[0\]"),
        (lambda: mapping.product(TO, "", "SKU"), "catalog_id"),
        (lambda: mapping.product(TO, "cat", "SKU", body="x" * 1025), "body"),
        (lambda: mapping.product(TO, "cat", "SKU", footer="x" * 61), "footer"),
    ],
)
def test_limits_name_their_field(call, field):
    with pytest.raises(ValueError, match=f"^{field}"):
        call()


def test_template():
    body = mapping.template(
        TO,
        "order_update",
        "en_US",
        [{"type": "body", "parameters": [{"type": "text", "text": "1"}]}],
    )
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "1"}]}],
    }
    assert "components" not in mapping.template(TO, "hello_world", "en_US")["template"]


def test_single_product_body_and_footer_optional():
    assert mapping.product(TO, "cat1", "TEE-M")["interactive"] == {
        "type": "product",
        "action": {"catalog_id": "cat1", "product_retailer_id": "TEE-M"},
    }
    shaped = mapping.product(TO, "cat1", "TEE-M", body="Our tee", footer="Free returns")
    assert shaped["interactive"]["body"] == {"text": "Our tee"}
    assert shaped["interactive"]["footer"] == {"text": "Free returns"}


def test_product_list():
    body = mapping.product_list(
        TO, "cat1", header="Picks", body="For you", sections=[("Tees", ["TEE-S", "TEE-M"])]
    )
    assert body["interactive"] == {
        "type": "product_list",
        "header": {"type": "text", "text": "Picks"},
        "body": {"text": "For you"},
        "action": {
            "catalog_id": "cat1",
            "sections": [
                {
                    "title": "Tees",
                    "product_items": [
                        {"product_retailer_id": "TEE-S"},
                        {"product_retailer_id": "TEE-M"},
                    ],
                }
            ],
        },
    }
    # One section may go untitled; 10 sections and 30 products are the most.
    one = mapping.product_list(TO, "c", header="h", body="b", sections=[("", ["A"])])
    assert "title" not in one["interactive"]["action"]["sections"][0]
    full = [(f"S{n}", [f"P{n}-{i}" for i in range(3)]) for n in range(10)]
    assert (
        len(
            mapping.product_list(TO, "c", header="h", body="b", sections=full)["interactive"][
                "action"
            ]["sections"]
        )
        == 10
    )


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"header": ""}, "header"),
        ({"header": "x" * 61}, "header"),
        ({"body": ""}, "body"),
        ({"body": "x" * 1025}, "body"),
        ({"footer": "x" * 61}, "footer"),
        ({"sections": []}, "sections"),
        ({"sections": [(f"S{n}", ["A"]) for n in range(11)]}, "sections"),
        (
            {"sections": [("A", [str(i) for i in range(16)]), ("B", [str(i) for i in range(15)])]},
            "sections",
        ),
        ({"sections": [("A", ["1"]), ("", ["2"])]}, r"sections\[1\].title"),
        ({"sections": [("x" * 25, ["1"])]}, r"sections\[0\].title"),
        ({"sections": [("A", [])]}, r"sections\[0\].product_items"),
    ],
)
def test_product_list_limits(kwargs, field):
    args = {"header": "h", "body": "b", "sections": [("A", ["1"])], **kwargs}
    with pytest.raises(ValueError, match=f"^{field}"):
        mapping.product_list(TO, "cat1", **args)
