"""The dashboard's catalog beyond the product form: a product's images (upload, order, alt
text, the variants that show each), its collections and the channels it is kept off, and
the collections' own pages. Each form goes through ``_form_action``: the API's services,
one transaction, a refusal said and nothing kept."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from mercato.admin.pages import Admin, _actor, _form_action, _page
from mercato.catalog import collections, media
from mercato.catalog import service as catalog
from mercato.catalog.schemas import CollectionCreate, CollectionMembers, CollectionUpdate
from mercato.channels import inclusion
from mercato.errors import FieldError, ValidationFailed
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/admin", include_in_schema=False)


def _csrf(form) -> str:
    return str(form.get("csrf") or "")


def _text(form, name: str) -> str:
    return str(form.get(name) or "").strip()


# ---------------------------------------------------------------- a product's images


@router.post("/catalog/{product_id}/media")
def upload_image(product_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    """An image uploaded from the product page, added last."""

    def upload() -> str:
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            raise ValidationFailed(
                "The image cannot be added.", [FieldError(("file",), "choose an image file")]
            )
        data = file.file.read(media.MAX_BYTES + 1)
        media.add_image(session, product_id, data, _text(form, "alt") or None)
        return "Image added; checked again on every channel."

    path = f"/admin/catalog/{product_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, upload)


@router.post("/catalog/{product_id}/media/{media_id}")
def edit_image(
    product_id: str, media_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """An image's alt text and variants saved; with a move button, its new place."""

    def edit() -> str:
        moved = _text(form, "position")
        position = int(moved) if moved.isdigit() else None
        media.edit_image(
            session,
            product_id,
            media_id,
            media.ImageEdit(
                alt=_text(form, "alt"),
                position=position,
                variant_ids=[str(v) for v in form.getlist("variant_id")]
                if form.get("variants")
                else None,
            ),
        )
        return "Image moved." if position else "Image saved."

    path = f"/admin/catalog/{product_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, edit)


@router.post("/catalog/{product_id}/media/{media_id}/delete")
def remove_image(
    product_id: str, media_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    def remove() -> str:
        media.remove_image(session, product_id, media_id)
        return "Image removed."

    path = f"/admin/catalog/{product_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, remove)


# ---------------------------------------------------------------- a product's collections


@router.post("/catalog/{product_id}/collections")
def product_collections(product_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    def save() -> str:
        added, removed = collections.set_product_collections(
            session, product_id, [str(c) for c in form.getlist("collection_id")]
        )
        return f"Collections saved: added to {added}, taken out of {removed}."

    path = f"/admin/catalog/{product_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, save)


@router.post("/catalog/{product_id}/channels/{channel_id}")
def product_on_channel(
    product_id: str, channel_id: str, form: PostedForm, session: WriteSession, admin: Admin
):
    """Every variant of the product kept off the channel, or taken back onto it."""

    def act() -> str:
        included = _text(form, "included") == "1"
        product = catalog.get_product(session, product_id)
        done = inclusion.set_included(
            session, channel_id, included, product_ids=[product.id], actor=_actor(admin)
        )
        where = done.channel.name
        return (
            f"Taken back onto {where}; its next sync sends it."
            if included
            else f"Kept off {where}; its next sync takes it down there."
        )

    path = f"/admin/catalog/{product_id}"
    return _form_action(session, admin, _csrf(form), "channels:write", path, act)


# ---------------------------------------------------------------- collections


@router.get("/collections")
def collection_list(
    request: Request, session: ReadSession, admin: Admin, cursor: str | None = None
):
    page = collections.list_collections(session, cursor=cursor, limit=100)
    return _page(
        request,
        "collections.html",
        admin,
        page=page,
        counts=collections.counts(session, [c.id for c in page.items]),
    )


def _rules_of(form) -> list[dict]:
    rules = []
    for field, value in zip(form.getlist("rule_field"), form.getlist("rule_value"), strict=False):
        if str(field).strip() and str(value).strip():
            rules.append({"field": str(field).strip(), "value": str(value).strip()})
    return rules


@router.post("/collections")
def create_collection(form: PostedForm, session: WriteSession, admin: Admin):
    made: list[str] = []

    def create() -> str:
        data = CollectionCreate(
            title=_text(form, "title"),
            handle=_text(form, "handle") or None,
            description_html=_text(form, "description_html"),
            rules=_rules_of(form),
        )
        collection = collections.create_collection(session, data)
        made.append(collection.id)
        return f"Collection {collection.title} created."

    response = _form_action(
        session, admin, _csrf(form), "catalog:write", "/admin/collections", create
    )
    if made and "error=" not in response.headers["location"]:
        response.headers["location"] = response.headers["location"].replace(
            "/admin/collections", f"/admin/collections/{made[0]}", 1
        )
    return response


@router.get("/collections/{collection_id}")
def collection_detail(request: Request, collection_id: str, session: ReadSession, admin: Admin):
    collection = collections.get_collection(session, collection_id)
    return _page(
        request,
        "collection.html",
        admin,
        collection=collection,
        products=collections.shown_products(session, collection),
        count=collections.counts(session, [collection.id]).get(collection.id, 0),
    )


@router.post("/collections/{collection_id}")
def update_collection(collection_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    def save() -> str:
        fields = {
            "title": _text(form, "title"),
            "handle": _text(form, "handle"),
            "description_html": _text(form, "description_html"),
        }
        if form.get("has_rules"):
            fields["rules"] = _rules_of(form)
        collections.update_collection(session, collection_id, CollectionUpdate(**fields))
        return "Collection saved."

    path = f"/admin/collections/{collection_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, save)


@router.post("/collections/{collection_id}/products")
def add_to_collection(collection_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    """A product found by its handle, SKU or title search added last."""

    def add() -> str:
        reference = _text(form, "product")
        if not reference:
            raise ValidationFailed(
                "No product to add.", [FieldError(("product",), "give a handle or a SKU")]
            )
        product = catalog.find_product(session, reference)
        collections.add_products(
            session, collection_id, CollectionMembers(product_ids=[product.id])
        )
        return f"{product.title} added."

    path = f"/admin/collections/{collection_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, add)


@router.post("/collections/{collection_id}/products/{product_id}/{action}")
def collection_member(
    collection_id: str,
    product_id: str,
    action: str,
    form: PostedForm,
    session: WriteSession,
    admin: Admin,
):
    """A product of a manual collection moved (``move``, to ``position``) or taken out."""

    def act() -> str:
        if action == "remove":
            collections.remove_product(session, collection_id, product_id)
            return "Taken out of the collection."
        if action == "move" and _text(form, "position").isdigit():
            collections.move_product(session, collection_id, product_id, int(form["position"]))
            return "Moved."
        raise ValidationFailed("Unknown action.", [FieldError(("action",), f"{action!r}")])

    path = f"/admin/collections/{collection_id}"
    return _form_action(session, admin, _csrf(form), "catalog:write", path, act)


@router.post("/collections/{collection_id}/delete")
def delete_collection(collection_id: str, form: PostedForm, session: WriteSession, admin: Admin):
    def delete() -> str:
        collections.delete_collection(session, collection_id)
        return "Collection deleted."

    return _form_action(session, admin, _csrf(form), "catalog:write", "/admin/collections", delete)
