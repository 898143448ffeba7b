"""A product's texts in other languages: titles, descriptions, option names and option
values per locale, read with fallbacks (``nl-BE`` -> ``nl`` -> the product's own text),
written one locale at a time, and imported and exported in Shopify's translation CSV
format (docs/translations.md).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mercato.catalog import service
from mercato.catalog.models import Product, ProductTranslation, Variant
from mercato.catalog.schemas import ProductUpdate, TranslationInput
from mercato.catalog.text import html_to_text
from mercato.errors import FieldError, ValidationFailed

# ---------------------------------------------------------------- fallbacks


def locale_key(locale: str) -> str:
    """One spelling for comparing locales: "pt_BR", "pt-br" -> "pt-br"."""
    return locale.strip().replace("_", "-").lower()


def fallback_chain(locale: str | None) -> list[str]:
    """The locales looked at, in order, for ``locale``: itself, then its language
    ("nl-BE" -> ["nl-be", "nl"]); the product's own text comes after them."""
    if not locale:
        return []
    key = locale_key(locale)
    language = key.split("-")[0]
    return [key] if key == language else [key, language]


@dataclass(frozen=True)
class Localized:
    """A product's texts in one locale, each field from the first locale of the fallback
    chain that has it, else the product's own."""

    title: str
    description_html: str
    options: list[str]
    values: dict[str, str] = field(default_factory=dict)
    # Which locale each field came from (None: the product's own text).
    sources: dict[str, str | None] = field(default_factory=dict)

    @property
    def description_text(self) -> str:
        return html_to_text(self.description_html)

    def value(self, base: str | None) -> str | None:
        """An option value in this locale (the base value when not translated)."""
        return None if base is None else self.values.get(base, base)

    def label(self, values: list[str]) -> str:
        """A variant's option values in this locale: "Blauw / M"."""
        return " / ".join(self.values.get(v, v) for v in values)


def pick(
    base_title: str,
    base_description_html: str,
    base_options: list[str],
    translations: Iterable[Any],
    locale: str | None,
) -> Localized:
    """``Localized`` from plain values and translation rows (anything with ``locale``,
    ``title``, ``description_html``, ``options``, ``option_values``)."""
    by_key = {locale_key(t.locale): t for t in translations}
    chain = [by_key[k] for k in fallback_chain(locale) if k in by_key]
    sources: dict[str, str | None] = {}

    def first(name: str, base):
        for t in chain:
            value = getattr(t, name)
            if value:
                sources[name] = t.locale
                return value
        sources[name] = None
        return base

    title = first("title", base_title)
    description = first("description_html", base_description_html)
    options = []
    for position, name in enumerate(base_options):
        found = next(
            (
                t.options[position]
                for t in chain
                if t.options and position < len(t.options) and t.options[position]
            ),
            None,
        )
        options.append(found or name)
    values: dict[str, str] = {}
    for t in reversed(chain):  # the most specific locale wins
        values.update({k: v for k, v in (t.option_values or {}).items() if v})
    return Localized(title, description, options, values, sources)


def localize(product: Product, locale: str | None) -> Localized:
    return pick(
        product.title,
        product.description_html or "",
        list(product.options or []),
        product.translations,
        locale,
    )


# ---------------------------------------------------------------- reading and writing


def translations_of(session: Session, product_id: str) -> list[ProductTranslation]:
    return list(service.get_product(session, product_id).translations)


def _current(product: Product) -> dict[str, TranslationInput]:
    return {
        t.locale: TranslationInput.model_construct(
            title=t.title,
            description_html=t.description_html,
            options=t.options,
            option_values=t.option_values,
        )
        for t in product.translations
    }


def _existing_locale(wanted: Mapping[str, Any], locale: str) -> str:
    """The stored spelling of ``locale`` if the product has it ("pt-BR" for "pt_br")."""
    return next((k for k in wanted if locale_key(k) == locale_key(locale)), locale)


def put_translation(
    session: Session, product_id: str, locale: str, data: TranslationInput
) -> Product:
    """Set the product's texts in ``locale`` (replacing that locale's, leaving others as
    they are); checked like any product change, all or nothing."""
    product = service.get_product(session, product_id)
    wanted = _current(product)
    wanted.pop(_existing_locale(wanted, locale), None)
    if data.title or data.description_html or data.options or data.option_values:
        wanted[locale.strip()] = data
    return service.update_product(session, product.id, ProductUpdate(translations=wanted))


def delete_translation(session: Session, product_id: str, locale: str) -> Product:
    product = service.get_product(session, product_id)
    wanted = _current(product)
    if wanted.pop(_existing_locale(wanted, locale), None) is None:
        return product  # nothing in that locale: nothing to remove
    return service.update_product(session, product.id, ProductUpdate(translations=wanted))


# ---------------------------------------------------------------- Shopify translation CSV

COLUMNS = (
    "Type",
    "Identification",
    "Field",
    "Locale",
    "Market",
    "Status",
    "Default content",
    "Translated content",
)
# Type -> the fields Mercato reads or writes for it. A product's handle row is exported
# (Shopify's files carry one) and read only to find the product.
FIELDS = {
    "PRODUCT": ("title", "body_html", "handle"),
    "PRODUCT_OPTION": ("name",),
    "PRODUCT_OPTION_VALUE": ("name",),
}


def export_csv(session: Session, out: IO[str], locales: list[str] | None = None) -> int:
    """Every product's translatable texts, one row per field and locale (``locales``, else
    every locale some product is translated into); returns the rows written."""
    if not locales:
        locales = sorted(set(session.scalars(select(ProductTranslation.locale).distinct())))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    for product in service.iter_products(session):
        values = list(
            dict.fromkeys(v for variant in product.variants for v in variant.option_values)
        )
        for locale in locales:
            found = {locale_key(t.locale): t for t in product.translations}.get(locale_key(locale))

            def row(kind, ident, name, default, translated, locale=locale):
                writer.writerow((kind, ident, name, locale, "", "", default, translated or ""))

            row("PRODUCT", product.id, "title", product.title, found and found.title)
            row(
                "PRODUCT",
                product.id,
                "body_html",
                product.description_html,
                found and found.description_html,
            )
            row("PRODUCT", product.id, "handle", product.handle, None)
            names = (found.options if found else None) or []
            for position, name in enumerate(product.options or [], start=1):
                translated = names[position - 1] if position <= len(names) else None
                row("PRODUCT_OPTION", f"{product.id}/{position}", "name", name, translated)
            translated_values = (found.option_values if found else None) or {}
            for value in values:
                row(
                    "PRODUCT_OPTION_VALUE",
                    f"{product.id}/{value}",
                    "name",
                    value,
                    translated_values.get(value),
                )
            rows += 3 + len(product.options or []) + len(values)
    return rows


@dataclass
class ImportReport:
    products: int = 0
    translations: int = 0
    # Rows left alone: market-specific content (Mercato translates per language) or no
    # translated content.
    skipped: int = 0
    dry_run: bool = False


@dataclass
class _Row:
    line: int
    kind: str
    ident: str
    name: str
    locale: str
    default: str
    translated: str


def import_csv(session: Session, stream: IO[str], *, dry_run: bool = False) -> ImportReport:
    """Read a Shopify translation CSV into the catalog, all or nothing: any bad row refuses
    the whole file, each error naming its row and column."""
    reader = csv.DictReader(stream)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValidationFailed(
            "This is not a Shopify translation CSV.",
            [FieldError(("header", c), "column is missing") for c in missing],
        )
    report = ImportReport(dry_run=dry_run)
    errors: list[FieldError] = []
    rows: list[_Row] = []
    for line, raw in enumerate(reader, start=2):
        row = _Row(
            line,
            (raw["Type"] or "").strip().upper(),
            (raw["Identification"] or "").strip().lstrip("'"),
            (raw["Field"] or "").strip(),
            (raw["Locale"] or "").strip(),
            raw["Default content"] or "",
            raw["Translated content"] or "",
        )
        where = ("row", line)
        if row.kind not in FIELDS:
            errors.append(
                FieldError((*where, "Type"), f"{row.kind!r} is not one of {', '.join(FIELDS)}")
            )
            continue
        if row.name not in FIELDS[row.kind]:
            errors.append(
                FieldError(
                    (*where, "Field"),
                    f"{row.name!r} cannot be translated for {row.kind} "
                    f"(one of {', '.join(FIELDS[row.kind])})",
                )
            )
            continue
        if not service.LOCALE_PATTERN.match(row.locale):
            errors.append(
                FieldError((*where, "Locale"), f"{row.locale!r} is not a locale (e.g. nl, pt-BR)")
            )
            continue
        if (raw["Market"] or "").strip():
            report.skipped += 1  # market-specific content: translations here are per language
            continue
        rows.append(row)
    plans = _resolve(session, rows, errors)
    if errors:
        raise ValidationFailed("The translation file has mistakes; nothing was imported.", errors)
    for product, wanted in plans.values():
        current = _current(product)
        for locale, changes in wanted.items():
            stored = _existing_locale(current, locale)
            merged = dict(current.pop(stored, TranslationInput()).model_dump())
            merged_values = dict(merged.get("option_values") or {})
            merged_values.update(changes.pop("option_values", {}))
            names = list(merged.get("options") or [None] * len(product.options or []))
            names += [None] * (len(product.options or []) - len(names))
            for position, name in changes.pop("options", {}).items():
                names[position - 1] = name
            merged.update(changes)
            merged["option_values"] = merged_values or None
            merged["options"] = names if any(names) else None
            current[stored] = TranslationInput.model_construct(**merged)
            report.translations += 1
        report.products += 1
        try:
            service.update_product(session, product.id, ProductUpdate(translations=current))
        except ValidationFailed as exc:
            raise ValidationFailed(
                f"Product {product.handle}: {exc.detail}; nothing was imported.", exc.errors
            ) from None
    if dry_run:
        session.rollback()
    return report


def _resolve(
    session: Session, rows: list[_Row], errors: list[FieldError]
) -> dict[str, tuple[Product, dict[str, dict]]]:
    """Each row's product and what it changes: product id -> (product, locale -> changes)."""
    handles = {r.ident: r.default for r in rows if r.kind == "PRODUCT" and r.name == "handle"}
    products: dict[str, Product] = {}

    def product_for(reference: str) -> Product | None:
        if reference not in products:
            found = session.get(Product, reference)
            if found is None and reference in handles:
                found = session.scalar(select(Product).where(Product.handle == handles[reference]))
            products[reference] = found
        return products[reference]

    plans: dict[str, tuple[Product, dict[str, dict]]] = {}

    def changes(product: Product, locale: str) -> dict:
        return plans.setdefault(product.id, (product, {}))[1].setdefault(locale, {})

    for row in rows:
        where = ("row", row.line)
        if not row.translated.strip():
            continue
        if row.kind == "PRODUCT":
            product = product_for(row.ident)
            if product is None:
                errors.append(
                    FieldError((*where, "Identification"), f"no product {row.ident!r}", "unknown")
                )
            elif row.name == "title":
                if len(row.translated) > 255:
                    errors.append(
                        FieldError((*where, "Translated content"), "a title is 255 characters")
                    )
                changes(product, row.locale)["title"] = row.translated.strip()
            elif row.name == "body_html":
                changes(product, row.locale)["description_html"] = row.translated
            continue
        # Options and their values: ours are "<product id>/<position or value>"; others
        # (Shopify's own ids) are matched by their default content on every product.
        reference, _, rest = row.ident.partition("/")
        targets = [product_for(reference)] if rest and product_for(reference) else None
        if targets is None:
            targets = _products_with(session, row)
        if not targets:
            errors.append(
                FieldError(
                    (*where, "Default content"),
                    f"no product has the option {'value ' if 'VALUE' in row.kind else ''}"
                    f"{row.default!r}",
                    "unknown",
                )
            )
            continue
        for product in targets:
            if row.kind == "PRODUCT_OPTION":
                options = list(product.options or [])
                if row.default not in options:
                    errors.append(
                        FieldError(
                            (*where, "Default content"),
                            f"product {product.handle} has no option {row.default!r}",
                        )
                    )
                    continue
                changes(product, row.locale).setdefault("options", {})[
                    options.index(row.default) + 1
                ] = row.translated.strip()
            else:
                values = {v for variant in product.variants for v in variant.option_values}
                if row.default not in values:
                    errors.append(
                        FieldError(
                            (*where, "Default content"),
                            f"product {product.handle} has no option value {row.default!r}",
                        )
                    )
                    continue
                changes(product, row.locale).setdefault("option_values", {})[row.default] = (
                    row.translated.strip()
                )
    return plans


def _products_with(session: Session, row: _Row) -> list[Product]:
    """Products with an option (or option value) named as the row's default content."""
    if row.kind == "PRODUCT_OPTION":
        ids = [
            product_id
            for product_id, options in session.execute(select(Product.id, Product.options))
            if row.default in (options or [])
        ]
    else:
        ids = sorted(
            set(
                session.scalars(
                    select(Variant.product_id).where(
                        or_(
                            Variant.option1 == row.default,
                            Variant.option2 == row.default,
                            Variant.option3 == row.default,
                        )
                    )
                )
            )
        )
    return [session.get(Product, product_id) for product_id in ids]
