import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from mercato.catalog import service, shopify_csv
from mercato.catalog.models import Media, Product, Variant
from mercato.db import transaction
from mercato.demo.story import TEMPLATE as DEMO_TEMPLATE
from mercato.errors import ValidationFailed

# Shopify's own product template, shipped with the demo (shared/fixtures holds the source).
TEMPLATE = DEMO_TEMPLATE


def run_import(sessions, text: str, **options):
    with transaction(sessions) as session:
        return shopify_csv.import_csv(session, io.StringIO(text), "USD", **options)


def export(sessions) -> str:
    out = io.StringIO()
    with sessions() as session:
        shopify_csv.export_csv(session, out)
    return out.getvalue()


def counts(sessions):
    with sessions() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t)) for t in (Product, Variant, Media)
        )


def products(sessions):
    with sessions() as session:
        return {p.handle: p for p in service.iter_products(session)}


@pytest.fixture
def template_text():
    return TEMPLATE.read_text(encoding="utf-8")


def test_shopify_template_imports_exactly(sessions, template_text):
    report = run_import(sessions, template_text)
    assert (report.created, report.variants, report.rows) == (3, 16, 17)
    assert report.warnings == [] and report.errors == []
    catalog = products(sessions)
    shirt, pants, hat = catalog["example-shirt"], catalog["example-pants"], catalog["example-hat"]

    assert (shirt.status, pants.status, hat.status) == ("active", "draft", "archived")
    assert shirt.options == ["Color", "Size"] and len(shirt.variants) == 12
    assert [v.option_values for v in shirt.variants[:2]] == [["Green", "S"], ["Green", "M"]]
    assert pants.options == ["Size"] and len(pants.variants) == 3
    assert hat.options == [] and len(hat.variants) == 1

    # Images: the shirt's 6 positioned rows + an unpositioned one; the jeans' image-only row.
    assert [m.position for m in shirt.media] == list(range(1, 8))
    assert shirt.media[6].url.endswith("test.jpg?v=1753785398")
    assert len(pants.media) == 4 and pants.media[3].alt == "Large tapered stone wash jeans"
    jeans_28 = pants.variants[0]
    assert jeans_28.image.url.endswith("fashion-model-walks-down-city-street.jpg?width=1500")
    assert shirt.variants[0].image.url.endswith("green-t-shirt.jpg?width=1500")

    # Prices in minor units; compare-at and cost; weights in the variant's own unit.
    assert (jeans_28.price, jeans_28.compare_at_price, jeans_28.cost) == (9500, 6495, 5000)
    assert (hat.variants[0].price, hat.variants[0].compare_at_price) == (1799, 2299)
    assert (jeans_28.weight, jeans_28.weight_unit) == (Decimal(8), "oz")
    assert [v.weight for v in pants.variants] == [Decimal(8), Decimal(10), Decimal(14)]
    assert (shirt.variants[0].weight, shirt.variants[0].weight_unit) == (Decimal(145), "g")

    assert shirt.variants[0].inventory_tracked is False and jeans_28.inventory_tracked is True
    assert shirt.variants[0].barcode == "365275101829"
    assert shirt.variants[0].mpn == "365275101829" and shirt.variants[1].mpn is None
    assert hat.variants[0].condition == "refurbished" and shirt.variants[5].condition == "new"

    # Google Shopping columns and Shopify's own category are kept.
    assert (shirt.google_category_id, shirt.gender, shirt.age_group) == (212, "male", "adult")
    assert shirt.google_category_path == "Apparel & Accessories > Clothing > Shirts & Tops"
    assert shirt.attributes["shopify_category"].endswith("Clothing Tops > T-Shirts")
    assert shirt.attributes["google_custom_product"] is True
    assert shirt.attributes["markets"] == [
        {"name": "United States", "included": True},
        {"name": "International", "included": True},
    ]
    assert shirt.tags == ["Made to Order", "Shirt Tag"]
    assert shirt.seo_title == "Example T-Shirt | Test Store"
    assert shirt.description_text.startswith("This t-shirt is as simple as it gets.")


def test_reimport_is_idempotent(sessions, template_text):
    run_import(sessions, template_text)
    ids = {h: (p.id, [v.id for v in p.variants]) for h, p in products(sessions).items()}
    report = run_import(sessions, template_text)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert counts(sessions) == (3, 16, 12)
    assert {h: (p.id, [v.id for v in p.variants]) for h, p in products(sessions).items()} == ids


def test_reimport_with_a_changed_price_updates_in_place(sessions, template_text):
    run_import(sessions, template_text)
    before = products(sessions)["example-hat"]
    report = run_import(sessions, template_text.replace(",17.99,22.99,", ",19.99,22.99,"))
    assert (report.updated, report.unchanged) == (1, 2)
    after = products(sessions)["example-hat"]
    assert after.id == before.id and after.variants[0].price == 1999
    assert after.updated_at > before.updated_at


def test_export_import_export_round_trips(sessions, template_text):
    run_import(sessions, template_text)
    first = export(sessions)
    with transaction(sessions) as session:
        for product in list(service.iter_products(session)):
            session.delete(session.merge(product))
    assert counts(sessions) == (0, 0, 0)
    run_import(sessions, first)
    assert export(sessions) == first
    assert first.splitlines()[1:] != [] and first.count("\n") == 18
    assert first.splitlines()[0].endswith("Compare At Price / International,Status")


def test_real_world_quirks_bom_html_newlines_reordered_and_unknown_columns(sessions):
    text = (
        "\ufeffTitle,Handle,Variant Price,Body (HTML),Favourite Colour,Variant SKU\r\n"
        'Mug,mug,12.5,"<p>Line one</p>\n<p>Line two, with a comma</p>",blue,MUG-1\r\n'
    )
    report = run_import(sessions, text)
    assert report.created == 1
    assert report.warnings == [
        'column "Favourite Colour" is not a Shopify product column and was ignored'
    ]
    mug = products(sessions)["mug"]
    assert mug.description_text == "Line one\nLine two, with a comma"
    assert mug.variants[0].price == 1250 and mug.variants[0].sku == "MUG-1"


def test_a_variant_image_missing_from_the_images_is_added_to_them(sessions):
    text = (
        "Handle,Title,Variant SKU,Variant Price,Image Src,Variant Image\n"
        "mug,Mug,MUG-1,5,https://x.test/a.jpg,https://x.test/b.jpg\n"
    )
    run_import(sessions, text)
    mug = products(sessions)["mug"]
    assert [m.url for m in mug.media] == ["https://x.test/a.jpg", "https://x.test/b.jpg"]
    assert mug.variants[0].image.url == "https://x.test/b.jpg"


def expect_rejection(sessions, text) -> ValidationFailed:
    before = counts(sessions)
    with pytest.raises(ValidationFailed) as failure:
        run_import(sessions, text)
    assert counts(sessions) == before
    return failure.value


def test_missing_handle_column_is_rejected(sessions, template_text):
    text = template_text.replace("Handle,", "Handel,", 1)
    failure = expect_rejection(sessions, text)
    assert 'no "Handle" column' in failure.detail


def test_bad_price_names_row_and_column_and_writes_nothing(sessions, template_text):
    lines = template_text.splitlines()
    lines[13] = lines[13].replace(",manual,95,64.95,", ",manual,abc,64.95,")
    failure = expect_rejection(sessions, "\n".join(lines))
    messages = [e.message for e in failure.errors]
    assert messages == ['row 14, column "Variant Price": "abc" is not a price']


def test_duplicate_sku_is_rejected_with_both_places(sessions, template_text):
    text = template_text.replace("HAT_GRY_275", "SRT_COT_111")
    failure = expect_rejection(sessions, text)
    assert len(failure.errors) == 1
    assert failure.errors[0].message.startswith("row 18, column \"Variant SKU\": SKU 'SRT_COT_111'")


def test_a_sku_of_another_product_in_the_database_is_rejected(sessions, template_text):
    run_import(sessions, template_text)
    text = "Handle,Title,Variant SKU,Variant Price\nexample-hat,Beanie,PNT_DEN_305,10\n"
    failure = expect_rejection(sessions, text)
    assert failure.errors[0].message == (
        "row 2, column \"Variant SKU\": SKU 'PNT_DEN_305' is already used by product "
        "'example-pants'"
    )


def test_a_new_handle_with_known_skus_renames_the_product_and_says_so(sessions, template_text):
    run_import(sessions, template_text)
    pants_id = products(sessions)["example-pants"].id
    text = (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
        "jeans,Jeans,Size,28,PNT_DEN_285,95\n"
    )
    report = run_import(sessions, text)
    assert report.warnings == ['product "example-pants" was found by SKU and renamed to "jeans"']
    assert products(sessions)["jeans"].id == pants_id


def test_all_errors_are_reported_at_once(sessions):
    text = (
        "Handle,Title,Variant SKU,Variant Price,Variant Taxable,Status\n"
        "a,A,A-1,1.999,TRUE,active\n"
        "b,B,B-1,5,maybe,published\n"
        ",C,C-1,5,TRUE,active\n"
    )
    failure = expect_rejection(sessions, text)
    assert [e.message for e in failure.errors] == [
        "row 2, column \"Variant Price\": '1.999' has more decimals than USD allows",
        'row 3, column "Status": "published" is not one of active, draft, archived',
        'row 3, column "Variant Taxable": "maybe" is not TRUE or FALSE',
        'row 4, column "Handle": is empty; every row needs the handle of its product',
    ]


def test_skip_invalid_imports_the_rest(sessions):
    text = "Handle,Title,Variant SKU,Variant Price\na,A,A-1,1\nb,B,B-1,oops\nc,C,A-1,3\nd,D,D-1,4\n"
    report = run_import(sessions, text, skip_invalid=True)
    assert (report.created, report.skipped, report.error_count) == (2, 2, 2)
    assert set(products(sessions)) == {"a", "d"}


def test_dry_run_checks_against_the_database_and_writes_nothing(sessions, template_text):
    report = run_import(sessions, template_text, dry_run=True)
    assert (report.created, report.variants) == (3, 16)
    assert counts(sessions) == (0, 0, 0)


def test_rows_of_a_product_must_be_together(sessions):
    text = (
        "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price\n"
        "a,A,Size,S,A-S,1\n"
        "b,B,,,B-1,1\n"
        "a,,,M,A-M,1\n"
    )
    failure = expect_rejection(sessions, text)
    assert failure.errors[0].message == (
        'row 4, column "Handle": rows of product "a" must be together (it also starts at row 2)'
    )


def test_a_long_import_on_postgresql_tells_the_planner_of_its_own_new_rows(sessions, engine):
    """Without it the batched SKU lookups of a large import scan the whole table each time."""
    if engine.dialect.name != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    rows = "".join(f"item-{i},Item {i},SKU-{i},1.00\n" for i in range(1000))
    with transaction(sessions) as session:
        report = shopify_csv.import_csv(
            session, io.StringIO("Handle,Title,Variant SKU,Variant Price\n" + rows), "USD"
        )
        estimated = session.scalar(
            text("SELECT reltuples FROM pg_class WHERE relname = 'variants'")
        )
    assert report.variants == 1000
    # Analyzed inside the import's own transaction, once 800 variants were written.
    assert estimated >= 800
