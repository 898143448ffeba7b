"""`mercato translations ...`: a product's texts in other languages, and the Shopify
translation CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mercato.catalog import service, shopify_csv, translations
from mercato.catalog.schemas import TranslationInput
from mercato.cli_support import console, table, unit_of_work
from mercato.errors import FieldError, ValidationFailed

translations_app = typer.Typer(
    help="Product translations (titles, descriptions, option names and values).",
    no_args_is_help=True,
)


@translations_app.command("import")
def import_translations(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing")] = False,
):
    """Import a Shopify translation CSV (all or nothing; errors name row and column)."""
    with file.open("rb") as raw, unit_of_work() as session:
        stream, _ = shopify_csv.open_text(raw)
        report = translations.import_csv(session, stream, dry_run=dry_run)
    verb = "Would import" if dry_run else "Imported"
    console.print(
        f"{verb} {report.translations} translation(s) of {report.products} product(s); "
        f"{report.skipped} market-specific row(s) left alone."
    )


@translations_app.command("export")
def export_translations(
    file: Annotated[Path, typer.Argument(dir_okay=False, help='"-" for standard output')],
    locale: Annotated[
        list[str] | None, typer.Option(help="Locale to export (repeatable; default: all)")
    ] = None,
):
    """Export every product's translatable texts as a Shopify translation CSV."""
    with unit_of_work() as session:
        if str(file) == "-":
            translations.export_csv(session, sys.stdout, locale)
            return
        with file.open("w", encoding="utf-8", newline="") as out:
            rows = translations.export_csv(session, out, locale)
    console.print(f"Exported {rows} rows to {file}.")


@translations_app.command("show")
def show_translations(
    product: Annotated[str, typer.Argument(help="Handle, id or SKU")],
    locale: Annotated[str | None, typer.Option(help="Show the texts after fallbacks")] = None,
):
    """A product's translations, or (--locale) its texts as a buyer there reads them."""
    with unit_of_work() as session:
        found = service.find_product(session, product)
        if locale:
            shown = translations.localize(found, locale)
            console.print(f"[bold]{shown.title}[/]  ({locale}; from {shown.sources})")
            console.print(shown.description_text)
            console.print(f"Options: {', '.join(shown.options) or '-'}")
            for base, value in shown.values.items():
                console.print(f"  {base} -> {value}")
            return
        rows = table("locale", "title", "options", "values")
        for t in found.translations:
            rows.add_row(
                t.locale,
                t.title or "-",
                ", ".join(o or "-" for o in t.options or []) or "-",
                ", ".join(f"{k}={v}" for k, v in (t.option_values or {}).items()) or "-",
            )
    console.print(rows)


def _pairs(values: list[str]) -> dict[str, str]:
    out, errors = {}, []
    for index, pair in enumerate(values):
        base, sep, translated = pair.partition("=")
        if not sep or not base.strip() or not translated.strip():
            errors.append(FieldError(("value", index), f"{pair!r} is not BASE=TRANSLATED"))
        out[base.strip()] = translated.strip()
    if errors:
        raise ValidationFailed("Option values are written BASE=TRANSLATED.", errors)
    return out


@translations_app.command("set")
def set_translation(
    product: Annotated[str, typer.Argument(help="Handle, id or SKU")],
    locale: Annotated[str, typer.Argument(help="e.g. nl, pt-BR")],
    title: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option(help="HTML")] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Option names in order (repeatable)")
    ] = None,
    value: Annotated[
        list[str] | None, typer.Option(help="An option value: Red=Rood (repeatable)")
    ] = None,
):
    """Set a product's texts in one locale (replacing that locale's)."""
    with unit_of_work() as session:
        found = service.find_product(session, product)
        data = TranslationInput(
            title=title,
            description_html=description,
            options=option or None,
            option_values=_pairs(value or []) or None,
        )
        translations.put_translation(session, found.id, locale, data)
    console.print(f"Saved the {locale} texts of {found.handle}.")


@translations_app.command("delete")
def delete_translation(
    product: Annotated[str, typer.Argument(help="Handle, id or SKU")],
    locale: str,
):
    """Remove a product's texts in one locale."""
    with unit_of_work() as session:
        found = service.find_product(session, product)
        translations.delete_translation(session, found.id, locale)
    console.print(f"Removed the {locale} texts of {found.handle}.")
