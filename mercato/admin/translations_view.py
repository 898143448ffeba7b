"""The dashboard's translations of a product: its texts per locale (title, description,
option names and values), shown beside the product's own and edited one locale at a
time; what a buyer in a locale reads after fallbacks."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request

from mercato.admin.pages import Admin, _form_action, _page
from mercato.catalog import service as catalog
from mercato.catalog import translations
from mercato.catalog.schemas import TranslationInput
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/admin/catalog", include_in_schema=False)


@router.get("/{product_id}/translations")
def translations_page(
    request: Request, product_id: str, session: ReadSession, admin: Admin, locale: str = ""
):
    product = catalog.get_product(session, product_id)
    values = list(dict.fromkeys(v for variant in product.variants for v in variant.option_values))
    shown = {t.locale: t for t in product.translations}
    wanted = locale.strip() or (product.translations[0].locale if product.translations else "")
    return _page(
        request,
        "product_translations.html",
        admin,
        product=product,
        values=values,
        locales=sorted(shown),
        locale=wanted,
        current=next(
            (t for k, t in shown.items() if translations.locale_key(k) == wanted.lower()), None
        ),
        localized=translations.localize(product, wanted) if wanted else None,
    )


@router.post("/{product_id}/translations")
def save_translation(product_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    """One locale's texts saved (empty fields: the product's own text shows), or the
    refusal said and nothing kept."""
    locale = str(form.get("locale") or "").strip()
    path = f"/admin/catalog/{product_id}/translations"

    def act():
        product = catalog.get_product(session, product_id)
        text = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
        options = [text.get(f"option[{i}]", "") or None for i in range(len(product.options))]
        values = {
            base: text[f"value[{i}]"]
            for i, base in enumerate(
                dict.fromkeys(v for variant in product.variants for v in variant.option_values)
            )
            if text.get(f"value[{i}]")
        }
        data = TranslationInput(
            title=text.get("title") or None,
            description_html=text.get("description_html") or None,
            options=options if any(options) else None,
            option_values=values or None,
        )
        translations.put_translation(session, product_id, locale, data)
        return f"Saved the {locale} texts; every channel in that language is told."

    response = _form_action(session, admin, str(form.get("csrf") or ""), "catalog:write", path, act)
    if locale:
        separator = "&" if "?" in response.headers["location"] else "?"
        response.headers["location"] += f"{separator}locale={quote(locale)}"
    return response
