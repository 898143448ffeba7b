"""Catalog input and output shapes. Prices are integer minor units + ISO 4217 currency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mercato.events.service import EventPayload
from mercato.money import MAX_AMOUNT

Text255 = Annotated[str, Field(max_length=255)]
MinorUnits = Annotated[
    int, Field(ge=0, le=MAX_AMOUNT, description="Integer minor units, e.g. cents")
]
Status = Literal["draft", "active", "archived"]
Condition = Literal["new", "refurbished", "used"]
InventoryPolicy = Literal["deny", "continue"]
WeightUnit = Literal["g", "kg", "oz", "lb"]
Gender = Literal["male", "female", "unisex"]
AgeGroup = Literal["newborn", "infant", "toddler", "kids", "adult"]
Url = Annotated[str, Field(min_length=1, max_length=2048, pattern=r"^https?://\S+$")]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MediaInput(_Input):
    url: Url
    alt: Annotated[str, Field(max_length=512)] | None = None


class MediaUpdate(_Input):
    """What to change of one image; a field left out stays as it is."""

    alt: Annotated[str, Field(max_length=512)] | None = Field(
        None, description="Alt text; an empty string removes it"
    )
    position: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = Field(
        None, description="1 is the main image; past the end puts it last"
    )
    variant_ids: list[str] | None = Field(
        None, description="The variants that show this image (replaces those that did)"
    )


class TranslationInput(_Input):
    title: Text255 | None = None
    description_html: str | None = None
    options: (
        Annotated[
            list[Text255 | None],
            Field(max_length=3, description="Option names in this locale, by position"),
        ]
        | None
    ) = None
    option_values: (
        Annotated[
            dict[str, Text255],
            Field(description="Option values in this locale: base value -> translated value"),
        ]
        | None
    ) = None


class VariantInput(_Input):
    id: str | None = Field(None, description="Existing variant to update (else matched by SKU)")
    sku: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    option_values: Annotated[list[Text255], Field(max_length=3)] = []
    price: MinorUnits
    compare_at_price: MinorUnits | None = None
    cost: MinorUnits | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = Field(
        None, description="ISO 4217; the store currency when omitted"
    )
    barcode: Annotated[str, Field(max_length=64)] | None = None
    mpn: Text255 | None = None
    weight: Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=6)] | None = None
    weight_unit: WeightUnit = "g"
    condition: Condition = "new"
    requires_shipping: bool = True
    taxable: bool = True
    inventory_policy: InventoryPolicy = "deny"
    inventory_tracked: bool = True
    image_url: Url | None = Field(None, description="One of the product's media URLs")
    attributes: dict[str, Any] = {}


class _ProductFields(_Input):
    handle: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    description_html: str | None = None
    vendor: Text255 | None = None
    product_type: Text255 | None = None
    tags: list[Annotated[str, Field(min_length=1, max_length=255)]] | None = None
    status: Status | None = None
    google_category: int | str | None = Field(
        None, description="Google product category id (212) or path (A > B > C)"
    )
    options: (
        Annotated[list[Annotated[str, Field(min_length=1, max_length=255)]], Field(max_length=3)]
        | None
    ) = None
    seo_title: Text255 | None = None
    seo_description: str | None = None
    gender: Gender | None = None
    age_group: AgeGroup | None = None
    translations: dict[str, TranslationInput] | None = None
    attributes: dict[str, Any] | None = None
    media: list[MediaInput] | None = None

    @field_validator("tags")
    @classmethod
    def _dedupe_tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else list(dict.fromkeys(tags))


class ProductCreate(_ProductFields):
    """A new product, or (in bulk upsert and imports) the full desired state of one."""

    title: Annotated[str, Field(min_length=1, max_length=255)]
    status: Status = "draft"
    variants: Annotated[list[VariantInput], Field(min_length=1, max_length=2048)]


class ProductUpdate(_ProductFields):
    """Fields to change. ``variants`` and ``media``, when given, replace the whole list:
    variants are matched by id, then SKU, then option values, and keep their ids."""

    title: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    variants: Annotated[list[VariantInput], Field(min_length=1, max_length=2048)] | None = None


class BulkUpsert(_Input):
    products: Annotated[list[ProductCreate], Field(min_length=1, max_length=1000)]


class _Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MediaPublic(_Output):
    id: str
    url: str
    alt: str | None
    position: int


class TranslationPublic(_Output):
    locale: str
    title: str | None
    description_html: str | None
    options: list[str | None] | None = None
    option_values: dict[str, str] | None = None


class TranslationLocalized(BaseModel):
    """A product's texts in a locale after fallbacks; ``sources`` says which locale each
    field came from (null: the product's own text)."""

    locale: str
    title: str
    description_html: str
    options: list[str]
    option_values: dict[str, str]
    sources: dict[str, str | None]


class TranslationImportReport(BaseModel):
    products: int
    translations: int
    skipped: int
    dry_run: bool


class VariantPublic(_Output):
    id: str
    product_id: str
    position: int
    sku: str | None
    option_values: list[str]
    price: int
    compare_at_price: int | None
    cost: int | None
    currency: str
    barcode: str | None
    mpn: str | None
    weight: Decimal | None
    weight_unit: str
    condition: str
    requires_shipping: bool
    taxable: bool
    inventory_policy: str
    inventory_tracked: bool
    image_id: str | None
    image_url: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ProductPublic(_Output):
    id: str
    handle: str
    title: str
    description_html: str
    description_text: str
    vendor: str | None
    product_type: str | None
    tags: list[str]
    status: str
    google_category_id: int | None
    google_category_path: str | None
    options: list[str]
    seo_title: str | None
    seo_description: str | None
    gender: str | None
    age_group: str | None
    attributes: dict[str, Any]
    translations: list[TranslationPublic]
    media: list[MediaPublic]
    variants: list[VariantPublic]
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    items: list[ProductPublic]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page")


class VariantPage(BaseModel):
    items: list[VariantPublic]
    next_cursor: str | None = None


class BulkUpsertResult(BaseModel):
    created: int
    updated: int
    unchanged: int
    products: list[ProductPublic]


class ImportReportPublic(BaseModel):
    dry_run: bool
    rows: int
    products: int
    created: int
    updated: int
    unchanged: int
    variants: int
    skipped: int
    warnings: list[str]
    errors: list[str]


class ProductChanged(EventPayload):
    """Payload of product.created / product.updated / product.deleted."""

    product_id: str
    handle: str
    status: str
    variant_ids: list[str]
    skus: list[str]


# ---------------------------------------------------------------- collections


class CollectionRule(_Input):
    """A product belongs when this holds (case does not matter)."""

    field: Literal["product_type", "vendor", "tag"]
    value: Annotated[str, Field(min_length=1, max_length=255)]


class CollectionCreate(_Input):
    title: Annotated[str, Field(min_length=1, max_length=255)]
    handle: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        None, description="Made from the title when omitted"
    )
    description_html: str = ""
    rules: Annotated[list[CollectionRule], Field(max_length=10)] = Field(
        [], description="All must hold; with rules the collection keeps itself up to date"
    )
    product_ids: Annotated[list[str], Field(max_length=1000)] = Field(
        [], description="The products of a manual collection (no rules), in order"
    )


class CollectionUpdate(_Input):
    title: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    handle: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    description_html: str | None = None
    rules: Annotated[list[CollectionRule], Field(max_length=10)] | None = None


class CollectionMembers(_Input):
    product_ids: Annotated[list[str], Field(min_length=1, max_length=1000)]


class CollectionPublic(_Output):
    id: str
    handle: str
    title: str
    description_html: str
    rules: list[CollectionRule]
    automatic: bool
    product_count: int = 0
    created_at: datetime
    updated_at: datetime


class CollectionPage(BaseModel):
    items: list[CollectionPublic]
    next_cursor: str | None = None


class CollectionMemberPublic(BaseModel):
    product_id: str
    handle: str
    title: str
    status: str
    position: int


class CollectionMemberPage(BaseModel):
    items: list[CollectionMemberPublic]
    next_cursor: str | None = None
