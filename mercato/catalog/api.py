import tempfile
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from mercato.catalog import media, service, shopify_csv, translations
from mercato.catalog.auth import CatalogRead, CatalogWrite
from mercato.catalog.schemas import (
    BulkUpsert,
    BulkUpsertResult,
    ImportReportPublic,
    MediaPublic,
    MediaUpdate,
    ProductCreate,
    ProductPage,
    ProductPublic,
    ProductUpdate,
    Status,
    TranslationImportReport,
    TranslationInput,
    TranslationLocalized,
    TranslationPublic,
    VariantPage,
    VariantPublic,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(tags=["catalog"])
# Uploaded images, served to the shop's visitors and to the platforms that fetch them.
files_router = APIRouter(tags=["catalog"])


@router.get("/products", response_model=ProductPage)
def list_products(
    session: ReadSession,
    _: CatalogRead,
    status: Status | None = None,
    q: Annotated[str | None, Query(description="Search titles, handles and SKUs")] = None,
    updated_since: datetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
):
    filters = service.ProductFilters(status=status, q=q, updated_since=updated_since)
    return service.list_products(session, filters, cursor=cursor, limit=limit)


@router.post("/products", response_model=ProductPublic, status_code=status.HTTP_201_CREATED)
def create_product(data: ProductCreate, session: WriteSession, _: CatalogWrite):
    return service.create_product(session, data)


@router.post("/products/bulk", response_model=BulkUpsertResult)
def bulk_upsert_products(data: BulkUpsert, session: WriteSession, _: CatalogWrite):
    """Create or update many products at once, all or nothing (matched by handle, then SKU)."""
    result = service.upsert_products(session, data.products)
    return BulkUpsertResult(
        created=len(result.created),
        updated=len(result.updated),
        unchanged=len(result.unchanged),
        products=[
            ProductPublic.model_validate(p) for p in service.get_products(session, result.ids)
        ],
    )


@router.post("/products/import/shopify", response_model=ImportReportPublic)
def import_shopify_csv(
    session: WriteSession,
    token: CatalogWrite,
    file: UploadFile = File(description="A Shopify product CSV export"),
    dry_run: bool = False,
    skip_invalid: bool = False,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
):
    """Import a Shopify product CSV: all or nothing unless `skip_invalid`; errors name row
    and column. A filled "Variant Inventory Qty" sets stock, so it also needs the
    `inventory:write` scope: without it the file is refused (403) and nothing changes."""
    stream, _ = shopify_csv.open_text(file.file)
    report = shopify_csv.import_csv(
        session,
        stream,
        currency or service.store_currency(),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        scopes=token.scopes,
    )
    return ImportReportPublic(
        **{**vars(report), "products": report.products, "errors": [str(e) for e in report.errors]}
    )


@router.get(
    "/products/export/shopify",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_shopify_csv(session: ReadSession, _: CatalogRead):
    """The whole catalog as a Shopify product CSV."""
    # Spooled: small catalogs stay in memory, large ones go to a temporary file.
    # It outlives this function: the response streams it, then closes it.
    buffer = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=8 * 1024 * 1024, mode="w+", newline=""
    )
    shopify_csv.export_csv(session, buffer)
    buffer.seek(0)
    return StreamingResponse(
        iter(lambda: buffer.read(64 * 1024), ""),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="products.csv"'},
        background=BackgroundTask(buffer.close),
    )


@router.post("/products/import/translations", response_model=TranslationImportReport)
def import_translations_csv(
    session: WriteSession,
    _: CatalogWrite,
    file: UploadFile = File(description="A Shopify translation CSV (Translate & Adapt export)"),
    dry_run: bool = False,
):
    """Import product translations from Shopify's translation CSV: all or nothing; each
    error names its row and column."""
    stream, _counter = shopify_csv.open_text(file.file)
    return vars(translations.import_csv(session, stream, dry_run=dry_run))


@router.get(
    "/products/export/translations",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_translations_csv(
    session: ReadSession,
    _: CatalogRead,
    locale: Annotated[list[str] | None, Query(description="Locales (default: all)")] = None,
):
    """Every product's translatable texts as a Shopify translation CSV."""
    buffer = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=8 * 1024 * 1024, mode="w+", newline=""
    )
    translations.export_csv(session, buffer, locale)
    buffer.seek(0)
    return StreamingResponse(
        iter(lambda: buffer.read(64 * 1024), ""),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="translations.csv"'},
        background=BackgroundTask(buffer.close),
    )


@router.get("/products/{product_id}/translations", response_model=list[TranslationPublic])
def list_translations(product_id: str, session: ReadSession, _: CatalogRead):
    return translations.translations_of(session, product_id)


@router.get("/products/{product_id}/localized", response_model=TranslationLocalized)
def localized_product(
    product_id: str,
    session: ReadSession,
    _: CatalogRead,
    locale: Annotated[str, Query(description="e.g. nl-BE: then nl, then the product's own")],
):
    """The product's texts as a buyer in ``locale`` sees them, after fallbacks."""
    found = translations.localize(service.get_product(session, product_id), locale)
    return TranslationLocalized(
        locale=locale,
        title=found.title,
        description_html=found.description_html,
        options=found.options,
        option_values=found.values,
        sources=found.sources,
    )


@router.put("/products/{product_id}/translations/{locale}", response_model=list[TranslationPublic])
def put_translation(
    product_id: str, locale: str, data: TranslationInput, session: WriteSession, _: CatalogWrite
):
    """Set the product's texts in one locale (an empty body removes them)."""
    return translations.put_translation(session, product_id, locale, data).translations


@router.delete(
    "/products/{product_id}/translations/{locale}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_translation(product_id: str, locale: str, session: WriteSession, _: CatalogWrite):
    translations.delete_translation(session, product_id, locale)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/products/{product_id}", response_model=ProductPublic)
def get_product(product_id: str, session: ReadSession, _: CatalogRead):
    return service.get_product(session, product_id)


@router.patch("/products/{product_id}", response_model=ProductPublic)
def update_product(product_id: str, data: ProductUpdate, session: WriteSession, _: CatalogWrite):
    return service.update_product(session, product_id, data)


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(product_id: str, session: WriteSession, _: CatalogWrite):
    service.delete_product(session, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/variants", response_model=VariantPage)
def find_variants(session: ReadSession, _: CatalogRead, sku: str):
    """Look a variant up by SKU (exact match): a list of zero or one."""
    return VariantPage(items=service.find_variants_by_sku(session, sku))


@router.get("/variants/{variant_id}", response_model=VariantPublic)
def get_variant(variant_id: str, session: ReadSession, _: CatalogRead):
    return service.get_variant(session, variant_id)


@router.post(
    "/products/{product_id}/media",
    response_model=MediaPublic,
    status_code=status.HTTP_201_CREATED,
)
def upload_image(
    product_id: str,
    session: WriteSession,
    _: CatalogWrite,
    file: UploadFile = File(description="A JPEG, PNG, WebP or GIF image of at most 5 MB"),
    alt: Annotated[str | None, Form(max_length=512)] = None,
    variant_ids: Annotated[list[str] | None, Form(description="Variants that show it")] = None,
):
    """Add an image last to the product's images; it is checked by its content (a file
    that is not an image is refused) and served at `/media/<sha256>.<extension>`."""
    data = file.file.read(media.MAX_BYTES + 1)
    return media.add_image(session, product_id, data, alt, variant_ids or ())


@router.patch("/products/{product_id}/media/{media_id}", response_model=MediaPublic)
def update_image(
    product_id: str, media_id: str, data: MediaUpdate, session: WriteSession, _: CatalogWrite
):
    """Change an image's alt text, its position, or the variants that show it."""
    edit = media.ImageEdit(
        alt="" if "alt" in data.model_fields_set and data.alt is None else data.alt,
        position=data.position,
        variant_ids=data.variant_ids,
    )
    return media.edit_image(session, product_id, media_id, edit)


@router.delete("/products/{product_id}/media/{media_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_image(product_id: str, media_id: str, session: WriteSession, _: CatalogWrite):
    media.remove_image(session, product_id, media_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@files_router.get(
    "/media/{name}", response_class=Response, responses={200: {"content": {"image/*": {}}}}
)
def media_file(name: str, session: ReadSession):
    """An uploaded image. Its name is its content's hash: it never changes."""
    found = media.served(session, name)
    return Response(
        found.content,
        media_type=found.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
