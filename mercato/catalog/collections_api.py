"""Collections in the API: ``/api/v1/collections`` and their products."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from mercato.catalog import collections as service
from mercato.catalog.auth import CatalogRead, CatalogWrite
from mercato.catalog.models import Collection
from mercato.catalog.schemas import (
    CollectionCreate,
    CollectionMemberPage,
    CollectionMemberPublic,
    CollectionMembers,
    CollectionPage,
    CollectionPublic,
    CollectionUpdate,
)
from mercato.pagination import MAX_PAGE_SIZE
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(tags=["catalog"])


def _public(session, collection: Collection) -> CollectionPublic:
    out = CollectionPublic.model_validate(collection)
    out.product_count = service.counts(session, [collection.id]).get(collection.id, 0)
    return out


@router.get("/collections", response_model=CollectionPage)
def list_collections(
    session: ReadSession,
    _: CatalogRead,
    product_id: Annotated[str | None, Query(description="Only those holding this product")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
):
    page = service.list_collections(session, product_id, cursor, limit)
    counted = service.counts(session, [c.id for c in page.items])
    items = [CollectionPublic.model_validate(c) for c in page.items]
    for item in items:
        item.product_count = counted.get(item.id, 0)
    return CollectionPage(items=items, next_cursor=page.next_cursor)


@router.post("/collections", response_model=CollectionPublic, status_code=status.HTTP_201_CREATED)
def create_collection(data: CollectionCreate, session: WriteSession, _: CatalogWrite):
    """A manual collection (``product_ids``) or one that picks its products by ``rules``."""
    return _public(session, service.create_collection(session, data))


@router.get("/collections/{collection}", response_model=CollectionPublic)
def get_collection(collection: str, session: ReadSession, _: CatalogRead):
    """A collection by id or handle."""
    return _public(session, service.get_collection(session, collection))


@router.patch("/collections/{collection}", response_model=CollectionPublic)
def update_collection(
    collection: str, data: CollectionUpdate, session: WriteSession, _: CatalogWrite
):
    return _public(session, service.update_collection(session, collection, data))


@router.delete("/collections/{collection}", status_code=status.HTTP_204_NO_CONTENT)
def delete_collection(collection: str, session: WriteSession, _: CatalogWrite):
    service.delete_collection(session, collection)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/collections/{collection}/products", response_model=CollectionMemberPage)
def collection_products(
    collection: str,
    session: ReadSession,
    _: CatalogRead,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
):
    """The collection's products, in product id order."""
    found = service.get_collection(session, collection)
    page = service.members(session, found.id, cursor, limit)
    at = service.positions(session, found.id, [p.id for p in page.items])
    return CollectionMemberPage(
        items=[
            CollectionMemberPublic(
                product_id=p.id, handle=p.handle, title=p.title, status=p.status, position=at[p.id]
            )
            for p in page.items
        ],
        next_cursor=page.next_cursor,
    )


@router.post("/collections/{collection}/products", response_model=CollectionPublic)
def add_collection_products(
    collection: str, data: CollectionMembers, session: WriteSession, _: CatalogWrite
):
    """Add products last to a manual collection (those already in it stay)."""
    return _public(session, service.add_products(session, collection, data))


@router.delete(
    "/collections/{collection}/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_collection_product(
    collection: str, product_id: str, session: WriteSession, _: CatalogWrite
):
    service.remove_product(session, collection, product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
