"""Files as merchants really have them: Excel's encodings, huge descriptions, binary by
mistake, absurd quantities; and exports a spreadsheet cannot turn into formulas."""

from __future__ import annotations

import codecs
import io

import pytest

from mercato.catalog import shopify_csv
from mercato.db import transaction
from mercato.errors import ValidationFailed
from tests.catalog.test_shopify_csv import counts, expect_rejection, export, products, run_import

HEADER = "Handle,Title,Body (HTML),Variant SKU,Variant Price,Variant Inventory Qty\r\n"


def import_bytes(sessions, raw: bytes, **options):
    with transaction(sessions) as session:
        stream, _ = shopify_csv.open_text(io.BytesIO(raw))
        return shopify_csv.import_csv(session, stream, "USD", **options)


def refusal(sessions, raw: bytes) -> str:
    before = counts(sessions)
    with pytest.raises(ValidationFailed) as failure:
        import_bytes(sessions, raw)
    assert counts(sessions) == before
    assert len(failure.value.errors) == 1
    return str(failure.value)


@pytest.mark.parametrize(
    "encoding,bom", [("cp1252", b""), ("latin-1", b""), ("utf-8", codecs.BOM_UTF8), ("utf-16", b"")]
)
def test_legacy_encodings_and_boms_import(sessions, encoding, bom):
    text = HEADER + "creme,Crème brûlée,<p>Café</p>,CR-1,4.50,3\r\n"
    import_bytes(sessions, bom + text.encode(encoding))
    creme = products(sessions)["creme"]
    assert (creme.title, creme.description_html) == ("Crème brûlée", "<p>Café</p>")


def test_cp1252_only_characters_import(sessions):
    text = HEADER + "quote,“Smart” quotes – €5,,Q-1,5,1\r\n"
    import_bytes(sessions, text.encode("cp1252"))
    assert products(sessions)["quote"].title == "“Smart” quotes – €5"


def test_a_binary_file_is_one_clear_line(sessions):
    message = refusal(sessions, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    assert message.splitlines()[0] == (
        "The file cannot be read: it holds binary data, not CSV text."
    )


def test_bytes_undecodable_late_in_the_file_are_one_clear_line(sessions):
    rows = "".join(f"p{i},Plain {i},,P-{i},5,1\r\n" for i in range(3000))
    raw = (HEADER + rows).encode() + "late,Café,,L-1,5,1\r\n".encode("cp1252")
    message = refusal(sessions, raw)
    assert "byte 0xe9 is not utf-8 text" in message and 'save the file as "CSV UTF-8"' in message


def test_a_description_over_128_kb_imports(sessions):
    body = "<p>" + "Handwoven wool. " * 20_000 + "</p>"  # 320 kB
    run_import(sessions, HEADER + f'rug,Rug,"{body}",RUG-1,120,1\r\n')
    assert products(sessions)["rug"].description_html == body


def test_huge_quantities_are_refused_per_row_and_column(sessions):
    failure = expect_rejection(
        sessions, HEADER + "a,A,,A-1,5,3\r\nb,B,,B-1,5,99999999999999999999\r\n"
    )
    assert (
        'row 3, column "Variant Inventory Qty": 99999999999999999999 is more than 1,000,000,000'
        in str(failure)
    )
    assert "row 2" not in str(failure)


def test_export_neutralises_formula_cells_and_import_restores_them(sessions):
    text = (
        HEADER + "calc,=cmd|' /C calc'!A0,\"@SUM(1+1)\",+SKU-1,5,1\r\n"
        "dash,- Sale -,\t<p>tab</p>,-SKU-2,5,1\r\n"
    )
    run_import(sessions, text)
    exported = export(sessions)
    assert "'=cmd|" in exported and "'@SUM(1+1)" in exported and "'+SKU-1" in exported
    assert "'- Sale -" in exported and "'-SKU-2" in exported
    for line in exported.splitlines()[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in line.split(","))
    with transaction(sessions) as session:
        for product in products(sessions).values():
            session.delete(session.merge(product))
    run_import(sessions, exported)
    calc = products(sessions)["calc"]
    assert calc.title == "=cmd|' /C calc'!A0" and calc.variants[0].sku == "+SKU-1"
    assert calc.description_html == "@SUM(1+1)"
    assert export(sessions) == exported


def test_api_upload_of_a_binary_file_is_a_422_problem(client, admin):
    response = client.post(
        "/api/v1/products/import/shopify",
        files={"file": ("photo.csv", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "text/csv")},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "The file cannot be read: it holds binary data, not CSV text."
    )


def test_api_upload_of_an_excel_csv_imports(client, admin):
    raw = (HEADER + "creme,Crème,,CR-1,4.50,3\r\n").encode("cp1252")
    response = client.post(
        "/api/v1/products/import/shopify",
        files={"file": ("excel.csv", raw, "text/csv")},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
