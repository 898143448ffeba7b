from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.config import get_settings
from mercato.db import Amount, Base, DecimalString, JSONType, UTCDateTime, new_id, utcnow

# Where the shop serves the images uploaded to it: <base URL>/media/<sha256>.<extension>.
MEDIA_PATH = "/media/"


class ImageUrl(TypeDecorator):
    """An image's address. An image uploaded to the shop is kept as its path and read
    with the base URL configured now, so that a shop moved to another address (from
    the laptop to its domain) shows its uploads from there; any other address is kept
    as given."""

    impl = String(2048)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        base = get_settings().base_url.rstrip("/")
        if value is not None and value.startswith(base + MEDIA_PATH):
            return value[len(base) :]
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.startswith(MEDIA_PATH):
            return get_settings().base_url.rstrip("/") + value
        return value


PRODUCT_STATUSES = ("draft", "active", "archived")
CONDITIONS = ("new", "refurbished", "used")
INVENTORY_POLICIES = ("deny", "continue")
WEIGHT_UNITS = ("g", "kg", "oz", "lb")
MAX_OPTIONS = 3


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint(f"status IN {PRODUCT_STATUSES}", name="status"),
        Index("ix_products_updated_at_id", "updated_at", "id"),
    )

    # Immutable: never derived from the handle or a SKU, so renaming either keeps it.
    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("prod"))
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")
    description_text: Mapped[str] = mapped_column(Text, default="")
    vendor: Mapped[str | None] = mapped_column(String(255))
    product_type: Mapped[str | None] = mapped_column(String(255))
    tags: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    google_category_id: Mapped[int | None] = mapped_column(Integer)
    google_category_path: Mapped[str | None] = mapped_column(String(500))
    # Option names in order, e.g. ["Color", "Size"]; variants hold the values.
    options: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    seo_title: Mapped[str | None] = mapped_column(String(255))
    seo_description: Mapped[str | None] = mapped_column(Text)
    gender: Mapped[str | None] = mapped_column(String(16))
    age_group: Mapped[str | None] = mapped_column(String(16))
    # Further attributes kept from imports and for channels (e.g. the Shopify
    # category, published flag, gift card, markets); free-form, never decides rules.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", order_by="Variant.position", cascade="all, delete-orphan"
    )
    media: Mapped[list[Media]] = relationship(
        back_populates="product", order_by="Media.position", cascade="all, delete-orphan"
    )
    translations: Mapped[list[ProductTranslation]] = relationship(
        order_by="ProductTranslation.locale", cascade="all, delete-orphan"
    )


class ProductTranslation(Base):
    __tablename__ = "product_translations"

    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    locale: Mapped[str] = mapped_column(String(20), primary_key=True)
    title: Mapped[str | None] = mapped_column(String(255))
    description_html: Mapped[str | None] = mapped_column(Text)
    # The product's option names in this locale, by position (None: not translated), and
    # its option values: base value -> translated value ("Red" -> "Rood").
    options: Mapped[list[str | None] | None] = mapped_column(JSONType())
    option_values: Mapped[dict[str, str] | None] = mapped_column(JSONType())


class Media(Base):
    __tablename__ = "media"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("med"))
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(ImageUrl)
    alt: Mapped[str | None] = mapped_column(String(512))
    position: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="media")


class Variant(Base):
    __tablename__ = "variants"
    __table_args__ = (
        CheckConstraint(f"condition IN {CONDITIONS}", name="condition"),
        CheckConstraint(f"inventory_policy IN {INVENTORY_POLICIES}", name="inventory_policy"),
        CheckConstraint(f"weight_unit IN {WEIGHT_UNITS}", name="weight_unit"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        UniqueConstraint("sku"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("var"))
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str | None] = mapped_column(String(255))
    option1: Mapped[str | None] = mapped_column(String(255))
    option2: Mapped[str | None] = mapped_column(String(255))
    option3: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    price: Mapped[int] = mapped_column(Amount)
    compare_at_price: Mapped[int | None] = mapped_column(Amount)
    cost: Mapped[int | None] = mapped_column(Amount)
    barcode: Mapped[str | None] = mapped_column(String(64))
    mpn: Mapped[str | None] = mapped_column(String(255))
    weight: Mapped[Decimal | None] = mapped_column(DecimalString)
    weight_unit: Mapped[str] = mapped_column(String(2), default="g")
    condition: Mapped[str] = mapped_column(String(16), default="new")
    requires_shipping: Mapped[bool] = mapped_column(Boolean, default=True)
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    inventory_policy: Mapped[str] = mapped_column(String(16), default="deny")
    inventory_tracked: Mapped[bool] = mapped_column(Boolean, default=True)
    image_id: Mapped[str | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    # Kept from imports: tax code, fulfilment service, per-market prices.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped[Product] = relationship(back_populates="variants")
    image: Mapped[Media | None] = relationship()

    @property
    def option_values(self) -> list[str]:
        return [v for v in (self.option1, self.option2, self.option3) if v is not None]

    @property
    def image_url(self) -> str | None:
        return self.image.url if self.image else None


class MediaFile(Base):
    """An image uploaded to the shop itself (dashboard or API), kept in the database so
    every API process serves it; served at ``/media/<id>.<extension>``. Its id is the
    SHA-256 of its bytes: the same image uploaded twice is kept once, and its address
    never changes (cached for good)."""

    __tablename__ = "media_files"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    extension: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Collection(Base):
    """Products grouped for the shop and for offers: a manual list, or (with ``rules``)
    every product whose type, vendor or tag matches, kept up to date as products change.
    Members are rows of ``collection_products`` either way, so "which collections hold
    this product" is one indexed lookup."""

    __tablename__ = "collections"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("col"))
    handle: Mapped[str] = mapped_column(String(255), unique=True)
    title: Mapped[str] = mapped_column(String(255))
    description_html: Mapped[str] = mapped_column(Text, default="")
    # [{field: product_type|vendor|tag, value}], all must hold; empty: a manual collection.
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONType(), default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def automatic(self) -> bool:
        return bool(self.rules)


class CollectionProduct(Base):
    __tablename__ = "collection_products"
    __table_args__ = (Index("ix_collection_products_product", "product_id"),)

    collection_id: Mapped[str] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[str] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)
