import csv
import io
import json

from lxml import etree
from typer.testing import CliRunner

from mercato.catalog.text import is_valid_gtin
from mercato.channels.feeds import G_NS
from mercato.cli import app
from mercato.demo.story import TEMPLATE as DEMO_TEMPLATE
from tests.helpers import GTIN, tee

# Shopify's own product template, shipped with the demo (shared/fixtures holds the source).
TEMPLATE = DEMO_TEMPLATE
runner = CliRunner()


def mercato(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def template_barcodes() -> dict[str, str]:
    with TEMPLATE.open(encoding="utf-8") as handle:
        return {
            row["Variant SKU"]: row["Variant Barcode"]
            for row in csv.DictReader(handle)
            if row["Variant SKU"]
        }


def test_check_google_on_shopify_template_reports_every_invalid_gtin_and_nothing_false(engine):
    assert mercato("import", "shopify", TEMPLATE).exit_code == 0
    result = mercato("channels", "check", "google", "--json")
    assert result.exit_code == 1  # some items would be rejected
    report = json.loads(result.output)
    barcodes = template_barcodes()
    invalid = {sku for sku, code in barcodes.items() if not is_valid_gtin(code)}
    assert len(invalid) == 14 and report["checked"] == len(barcodes)
    gtin_issues = {i["sku"] for i in report["issues"] if i["field"] == "gtin"}
    assert gtin_issues == invalid
    # Nothing else is reported but genuine gaps: apparel without a color (jeans, beanie).
    others = {(i["sku"], i["field"]) for i in report["issues"] if i["field"] != "gtin"}
    assert others == {(sku, "color") for sku in barcodes if sku.startswith(("PNT", "HAT"))}
    assert not any(i["field"] in ("link", "image_link") for i in report["issues"])
    # The local http base URL is one note, not one false error per item.
    assert len(report["notes"]) == 1 and "https" in report["notes"][0]


def test_check_table_names_field_and_why(engine, make_products):
    make_products(tee(barcode="12345678"))
    result = mercato("channels", "check", "meta")
    assert result.exit_code == 1
    assert "gtin" in result.output and "check digit" in result.output
    assert "2 items checked for meta: 0 valid" in result.output


def test_https_links_are_checked_when_the_base_url_is_https(engine, make_products, monkeypatch):
    from mercato.config import get_settings

    make_products(tee(media=[{"url": "http://cdn.example.com/tee.jpg"}]))
    monkeypatch.setenv("MERCATO_BASE_URL", "https://shop.example.com")
    get_settings.cache_clear()
    report = json.loads(mercato("channels", "check", "google", "--json").output)
    assert report["notes"] == []
    assert {i["field"] for i in report["issues"]} == {"image_link"}


def test_html_is_stripped_and_identifiers_fall_back(engine, make_products, tmp_path):
    make_products(
        tee(
            handle="no-gtin",
            skus=("NG-1",),
            barcode=None,
            variants=[{"sku": "NG-1", "option_values": ["Red", "M"], "price": 1999}],
        )
    )
    out = tmp_path / "google.xml"
    result = mercato("feeds", "build", "google", "--out", out)
    assert result.exit_code == 0, result.output
    item = etree.parse(str(out)).find("channel/item")
    g = f"{{{G_NS}}}"
    assert item.findtext(g + "description") == "Soft & organic."
    assert item.findtext(g + "identifier_exists") == "no"
    assert item.findtext(g + "price") == "19.99 USD"
    assert item.findtext(g + "link").endswith(f"?variant={item.findtext(g + 'id')}")


def test_feeds_in_every_format_leave_invalid_items_out(engine, make_products, tmp_path):
    make_products(tee(), tee(handle="bad", skus=("BAD-1",), barcode="999"))
    meta_csv = tmp_path / "meta.csv"
    assert "Wrote 2 items" in mercato("feeds", "build", "meta", "--out", meta_csv).output
    rows = list(csv.DictReader(meta_csv.open(encoding="utf-8")))
    assert [r["gtin"] for r in rows] == [GTIN, GTIN]
    assert rows[0]["price"] == "25.00 USD" and rows[0]["item_group_id"]
    meta_xml = tmp_path / "meta.xml"
    mercato("feeds", "build", "meta", "--out", meta_xml, "--format", "xml")
    assert len(etree.parse(str(meta_xml)).findall("channel/item")) == 2
    pin = tmp_path / "pin.tsv"
    mercato("feeds", "build", "pinterest", "--out", pin)
    lines = pin.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[0].split("\t")[0] == "id"
    snap = tmp_path / "snap.csv"
    mercato("feeds", "build", "snapchat", "--out", snap)
    assert len(list(csv.reader(io.StringIO(snap.read_text(encoding="utf-8"))))) == 3
    refused = runner.invoke(
        app, ["feeds", "build", "google", "--out", str(tmp_path / "x"), "--format", "csv"]
    )
    assert refused.exit_code == 1 and "xml" in refused.output


def test_secret_pull_url(client, admin, make_products, make_channel):
    make_products(tee())
    channel_id = make_channel("google")
    issued = client.post(f"/api/v1/channels/{channel_id}/feed-token", headers=admin).json()
    path = issued["url"].split("8000", 1)[1]
    assert path == f"/feeds/{channel_id}/{issued['token']}.xml"
    response = client.get(path)
    assert response.status_code == 200 and "rss" in response.headers["content-type"]
    assert len(etree.fromstring(response.content).findall("channel/item")) == 2
    wrong = client.get(f"/feeds/{channel_id}/{'x' * len(issued['token'])}.xml")
    assert wrong.status_code == 404
    # Rotating the token retires the old URL.
    client.post(f"/api/v1/channels/{channel_id}/feed-token", headers=admin)
    assert client.get(path).status_code == 404
