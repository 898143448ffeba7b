"""A product's images: uploaded to the shop itself, put in order, described (alt text) and
shown for variants. Every change is a product update through the catalog's one
plan-and-apply path (``service.update_product``): the same checks as any edit, one
``product.updated`` event, so each channel checks the product again and its next publish
sends it.

An upload is checked by its content, not its name or declared type: Pillow must read it
as a JPEG, PNG, WebP or GIF image no larger than ``MAX_BYTES``. The bytes are kept in
``media_files`` (every API process serves them, on SQLite and PostgreSQL alike) under
their SHA-256, and served at ``<MERCATO_BASE_URL>/media/<sha256>.<extension>``: the
address platforms fetch the image from, so it must be public and https in production.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.catalog import service
from mercato.catalog.models import MEDIA_PATH, Media, MediaFile, Product
from mercato.catalog.schemas import MediaInput, ProductUpdate
from mercato.config import get_settings
from mercato.db import utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.inserts import insert_or_ignore

# TikTok Shop takes images of at most 5 MB (docs PLATFORMS.md §3.5), the smallest limit of
# the platforms a product is sent to; the shop keeps to it so every channel can take it.
MAX_BYTES = 5 * 1024 * 1024
# Larger images are refused before they are decoded (a small file can claim huge sizes).
MAX_PIXELS = 50_000_000
MAX_ALT = 512
# Pillow's format -> (content type, extension). Formats every platform here takes
# (Snapchat: JPEG or PNG only, which its spec checks by the extension in the URL).
FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "GIF": ("image/gif", "gif"),
}
PATH = MEDIA_PATH
# How old an upload no product shows must be before it is deleted.
UNUSED_FOR = timedelta(days=7)


@dataclass(frozen=True)
class ImageInfo:
    sha256: str
    content_type: str
    extension: str
    width: int
    height: int
    size: int


def read_image(data: bytes, field: str = "file") -> ImageInfo:
    """What ``data`` is, if it is an image the shop takes; else a refusal naming ``field``."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed("The image cannot be added.", [FieldError((field,), message)])

    if not data:
        raise refuse("the file is empty")
    if len(data) > MAX_BYTES:
        raise refuse(
            f"the file is {len(data) / (1024 * 1024):.1f} MB; images are at most "
            f"{MAX_BYTES // (1024 * 1024)} MB"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                kind, (width, height) = image.format, image.size
                if width * height > MAX_PIXELS:
                    raise refuse(f"{width} × {height} pixels is too large an image")
                image.verify()
            # verify() checks the structure; loading decodes every pixel (a cut file fails).
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Warning) as exc:
        raise refuse("the file is not an image the shop can read (JPEG, PNG, WebP or GIF)") from exc
    if kind not in FORMATS:
        raise refuse(f"{kind} images are not taken: use JPEG, PNG, WebP or GIF")
    content_type, extension = FORMATS[kind]
    return ImageInfo(
        hashlib.sha256(data).hexdigest(), content_type, extension, width, height, len(data)
    )


def url_of(info: ImageInfo | MediaFile) -> str:
    sha = info.sha256 if isinstance(info, ImageInfo) else info.id
    return f"{get_settings().base_url.rstrip('/')}{PATH}{sha}.{info.extension}"


def store(session: Session, data: bytes, field: str = "file") -> str:
    """Keep an uploaded image (once, whoever uploads the same bytes again); its URL."""
    info = read_image(data, field)
    session.execute(
        insert_or_ignore(session, MediaFile).values(
            id=info.sha256,
            content_type=info.content_type,
            extension=info.extension,
            width=info.width,
            height=info.height,
            size=info.size,
            content=data,
            created_at=utcnow(),
        )
    )
    return url_of(info)


def forget_unused(session: Session, now: datetime) -> int:
    """Delete uploaded images that no product shows any more, once a week old (a new
    upload is attached in the transaction that stores it; the week gives the platforms
    time to take the product's new images). How many went."""
    shown = {
        url.rpartition(PATH)[2].partition(".")[0]
        for url in session.scalars(select(Media.url).where(Media.url.contains(PATH)))
    }
    old = session.scalars(select(MediaFile.id).where(MediaFile.created_at < now - UNUSED_FOR)).all()
    unused = [sha for sha in old if sha not in shown]
    for start in range(0, len(unused), 500):
        session.execute(delete(MediaFile).where(MediaFile.id.in_(unused[start : start + 500])))
    return len(unused)


def served(session: Session, name: str) -> MediaFile:
    """The uploaded image at ``/media/<name>`` (``<sha256>.<extension>``)."""
    sha, _, extension = name.partition(".")
    found = session.get(MediaFile, sha) if len(sha) == 64 else None
    if found is None or found.extension != extension:
        raise NotFound(f"No image {name!r}.")
    return found


# ---------------------------------------------------------------- a product's images


def _media(product: Product, media_id: str) -> Media:
    for media in product.media:
        if media.id == media_id:
            return media
    raise NotFound(f"Product {product.handle!r} has no image {media_id!r}.")


def _save(
    session: Session,
    product: Product,
    media: Sequence[tuple[str, str | None]],
    images: dict[str, str | None],
) -> Product:
    """The product with ``media`` ((url, alt) in order) and each variant's image URL
    (variant id -> URL or None), through the catalog's update."""
    variants = [service.variant_input(v) for v in product.variants]
    for variant in variants:
        variant.image_url = images.get(variant.id, variant.image_url)
    return service.update_product(
        session,
        product.id,
        ProductUpdate(
            media=[MediaInput(url=url, alt=alt or None) for url, alt in media],
            variants=variants,
        ),
    )


def _alt(alt: str | None, field: str = "alt") -> str | None:
    alt = (alt or "").strip() or None
    if alt is not None and len(alt) > MAX_ALT:
        raise ValidationFailed(
            "The image cannot be saved.",
            [FieldError((field,), f"alt text is at most {MAX_ALT} characters")],
        )
    return alt


def add_image(
    session: Session,
    product_id: str,
    data: bytes,
    alt: str | None = None,
    variant_ids: Sequence[str] = (),
) -> Media:
    """Upload an image and add it last to the product's images (shown for
    ``variant_ids``, if given)."""
    product = service.get_product(session, product_id)
    alt = _alt(alt)
    url = store(session, data)
    if any(m.url == url for m in product.media):
        raise ValidationFailed(
            "The image cannot be added.",
            [FieldError(("file",), "the product already has this image")],
        )
    _check_variants(product, variant_ids)
    media = [(m.url, m.alt) for m in product.media] + [(url, alt)]
    product = _save(session, product, media, dict.fromkeys(variant_ids, url))
    return next(m for m in product.media if m.url == url)


@dataclass
class ImageEdit:
    """What to change of one image; None leaves it as it is."""

    alt: str | None = None
    # 1 is first (the main image); past the end is last.
    position: int | None = None
    # The variants that show this image (replacing those that did); [] shows it for none.
    variant_ids: Sequence[str] | None = None


def edit_image(session: Session, product_id: str, media_id: str, edit: ImageEdit) -> Media:
    product = service.get_product(session, product_id)
    target = _media(product, media_id)
    media = [
        (m.url, _alt(edit.alt) if m is target and edit.alt is not None else m.alt)
        for m in product.media
    ]
    if edit.position is not None:
        if edit.position < 1:
            raise ValidationFailed(
                "The image cannot be saved.",
                [FieldError(("position",), "positions start at 1 (the main image)")],
            )
        entry = media.pop(product.media.index(target))
        media.insert(min(edit.position, len(media) + 1) - 1, entry)
    images: dict[str, str | None] = {}
    if edit.variant_ids is not None:
        _check_variants(product, edit.variant_ids)
        chosen = set(edit.variant_ids)
        for variant in product.variants:
            if variant.id in chosen:
                images[variant.id] = target.url
            elif variant.image_id == target.id:
                images[variant.id] = None
    url = target.url
    product = _save(session, product, media, images)
    return next(m for m in product.media if m.url == url)


def remove_image(session: Session, product_id: str, media_id: str) -> Product:
    """The image taken off the product (and off the variants that showed it)."""
    product = service.get_product(session, product_id)
    target = _media(product, media_id)
    media = [(m.url, m.alt) for m in product.media if m is not target]
    images = {v.id: None for v in product.variants if v.image_id == target.id}
    return _save(session, product, media, images)


def _check_variants(product: Product, variant_ids: Sequence[str]) -> None:
    own = {v.id for v in product.variants}
    wrong = [v for v in variant_ids if v not in own]
    if wrong:
        raise ValidationFailed(
            "The image cannot be saved.",
            [FieldError(("variant_ids",), f"{v!r} is no variant of this product") for v in wrong],
        )
