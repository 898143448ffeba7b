"""The `mercato` command as a merchant uses it."""

import re

from typer.testing import CliRunner

from mercato.catalog import service
from mercato.cli import app
from mercato.demo.story import TEMPLATE as DEMO_TEMPLATE

# Shopify's own product template, shipped with the demo (shared/fixtures holds the source).
TEMPLATE = DEMO_TEMPLATE
runner = CliRunner()


def mercato(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_init_prints_an_admin_token_once(engine):
    first = mercato("init")
    assert first.exit_code == 0, first.output
    assert re.search(r"mct_[\w-]{40,}", first.output)
    second = mercato("init")
    assert second.exit_code == 0
    assert "mct_" not in second.output and "exists already" in second.output


def test_init_token_works_against_the_api(engine, client):
    token = re.search(r"mct_[\w-]+", mercato("init").output).group(0)
    response = client.get("/api/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_tokens_create_list_and_revoke(engine, client):
    created = mercato("tokens", "create", "--name", "feed", "--scope", "catalog:read")
    assert created.exit_code == 0, created.output
    token_id = re.search(r"tok_\w+", created.output).group(0)
    secret = re.search(r"mct_[\w-]+", created.output).group(0)
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/products", headers=headers).status_code == 200
    listed = mercato("tokens", "list")
    assert token_id in listed.output and secret not in listed.output
    assert mercato("tokens", "revoke", token_id).exit_code == 0
    assert client.get("/api/v1/products", headers=headers).status_code == 401


def test_unknown_scope_exits_non_zero(engine):
    result = mercato("tokens", "create", "--name", "x", "--scope", "root")
    assert result.exit_code == 1
    assert "unknown scope 'root'" in result.output


def test_import_then_list_show_and_export(engine, tmp_path):
    result = mercato("import", "shopify", TEMPLATE)
    assert result.exit_code == 0, result.output
    assert "Imported 3 products (3 new" in result.output and "16 variants" in result.output
    listed = mercato("products", "list")
    assert all(h in listed.output for h in ("example-shirt", "example-pants", "example-hat"))
    shown = mercato("products", "show", "PNT_DEN_305")
    assert "Example Jeans" in shown.output and "95.00 USD" in shown.output
    out = tmp_path / "export.csv"
    assert mercato("export", "shopify", out).exit_code == 0
    assert out.read_text().count("\n") == 18


def test_rejected_import_exits_non_zero_and_changes_nothing(engine, sessions, tmp_path):
    assert mercato("import", "shopify", TEMPLATE).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("Handle,Title,Variant SKU,Variant Price\na,A,A-1,abc\nb,B,A-1,5\n")
    result = mercato("import", "shopify", bad)
    assert result.exit_code == 1
    assert 'row 2, column "Variant Price": "abc" is not a price' in result.output
    assert "nothing was imported" in result.output
    with sessions() as session:
        assert sorted(p.handle for p in service.iter_products(session)) == [
            "example-hat",
            "example-pants",
            "example-shirt",
        ]


def test_dry_run_writes_nothing(engine):
    result = mercato("import", "shopify", TEMPLATE, "--dry-run")
    assert result.exit_code == 0
    assert "Would import 3 products" in result.output
    assert "example-shirt" not in mercato("products", "list").output


def test_refused_options_are_printed_one_a_line(engine):
    result = mercato("webhooks", "create", "not a url")
    assert result.exit_code == 1
    assert re.search(r"Error: url: .+", result.output)
    assert "Endpoint" not in result.output and "Signing secret" not in result.output
