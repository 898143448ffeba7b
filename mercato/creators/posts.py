"""Posts tagged with the products they show: a creator's, or the shop's own (no creator).

A post is named by the id the analytics ledger's touches carry in ``post`` (a link's
``content_id``, an imported platform's post id), so its clicks, orders and revenue are
read from the ledger (``roi``, by post). Tags are kept here: they are shown on the
creator's page, the dashboard and the return per post; they are not sent to a platform.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Product
from mercato.creators.models import Creator, Post, PostProduct
from mercato.creators.schemas import PostCreate
from mercato.db import insert_rows, new_id, utcnow
from mercato.errors import FieldError, NotFound, ValidationFailed


def _refuse_unknown(session: Session, creator_id: str | None, product_ids: list[str]) -> None:
    errors = []
    if creator_id is not None and session.get(Creator, creator_id) is None:
        errors.append(FieldError(("creator_id",), "no such creator"))
    known = set(session.scalars(select(Product.id).where(Product.id.in_(product_ids))))
    errors += [
        FieldError(("product_ids", i), f"no product {p!r}")
        for i, p in enumerate(product_ids)
        if p not in known
    ]
    if errors:
        raise ValidationFailed("The post cannot be tagged.", errors)


def create(session: Session, data: PostCreate) -> Post:
    product_ids = list(dict.fromkeys(data.product_ids))
    if session.scalar(select(Post.id).where(Post.reference == data.reference)):
        raise ValidationFailed(
            "The post cannot be tagged.",
            [FieldError(("reference",), "already tagged: change its products instead", "taken")],
        )
    _refuse_unknown(session, data.creator_id, product_ids)
    post = Post(
        id=new_id("cpt"),
        reference=data.reference,
        creator_id=data.creator_id,
        channel=data.channel,
        url=data.url,
        title=data.title,
        created_at=utcnow(),
    )
    session.add(post)
    session.flush()
    _tag(session, post.id, product_ids)
    return post


def set_products(session: Session, post_id: str, product_ids: list[str]) -> Post:
    """The post's tags, replaced by ``product_ids``."""
    post = get(session, post_id)
    product_ids = list(dict.fromkeys(product_ids))
    _refuse_unknown(session, None, product_ids)
    session.execute(delete(PostProduct).where(PostProduct.post_id == post.id))
    _tag(session, post.id, product_ids)
    return post


def _tag(session: Session, post_id: str, product_ids: list[str]) -> None:
    if product_ids:
        insert_rows(
            session,
            PostProduct.__table__,
            [{"post_id": post_id, "product_id": p} for p in product_ids],
        )


def get(session: Session, post_id: str) -> Post:
    found = session.get(Post, post_id)
    if found is None:
        raise NotFound(f"No post {post_id!r}.")
    return found


def list_posts(session: Session, creator_id: str | None = None) -> list[Post]:
    query = select(Post).order_by(Post.created_at.desc(), Post.id)
    if creator_id:
        query = query.where(Post.creator_id == creator_id)
    return list(session.scalars(query))


def products_of(session: Session, post_ids: list[str]) -> dict[str, list[Product]]:
    """Post id -> the products it is tagged with, by title."""
    out: dict[str, list[Product]] = {p: [] for p in post_ids}
    if not post_ids:
        return out
    for post_id, product in session.execute(
        select(PostProduct.post_id, Product)
        .join(Product, Product.id == PostProduct.product_id)
        .where(PostProduct.post_id.in_(post_ids))
        .order_by(Product.title, Product.id)
    ):
        out[post_id].append(product)
    return out


def public(session: Session, found: list[Post]) -> list[dict]:
    tags = products_of(session, [p.id for p in found])
    return [
        {
            "id": p.id,
            "reference": p.reference,
            "creator_id": p.creator_id,
            "channel": p.channel,
            "url": p.url,
            "title": p.title,
            "created_at": p.created_at,
            "products": [{"id": x.id, "title": x.title} for x in tags[p.id]],
        }
        for p in found
    ]
