"""Which variants a channel takes: every active one, but those the merchant keeps off it
(``Exclusion`` rows, set from the catalog's bulk edit or the API).

An excluded variant is not among the channel's items (``items.iter_items``: no push, no
feed row), and the next publish deletes one already on the platform, as for a product no
longer active (``sync._plan_deletes``). A change of inclusion records one
``channel.inclusion_changed`` event in the same transaction; the channels' consumer puts
its variants into that channel's change log and queues one publish of that channel only,
however many variants changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.channels import service
from mercato.channels.models import Channel, Exclusion
from mercato.db import utcnow
from mercato.errors import FieldError, ValidationFailed
from mercato.events import service as events
from mercato.inserts import insert_or_ignore

EVENT = "channel.inclusion_changed"
MAX_VARIANTS = 1000
CHUNK = 500


@dataclass(frozen=True)
class InclusionChange:
    channel: Channel
    included: bool
    # Variants whose inclusion changed (those already so are left out).
    changed: int
    selected: int


def set_included(
    session: Session,
    channel_ref: str,
    included: bool,
    variant_ids: Sequence[str] = (),
    product_ids: Sequence[str] = (),
    actor: str = "",
) -> InclusionChange:
    """Take the selected variants (and every variant of the selected products) onto the
    channel (``included``) or keep them off it; all or nothing."""
    channel = service.find_channel(session, channel_ref)
    wanted = list(dict.fromkeys(variant_ids))
    products = list(dict.fromkeys(product_ids))
    errors = []
    if not wanted and not products:
        errors.append(FieldError(("variant_ids",), "select at least one variant or product"))
    found: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        found.update(
            session.execute(
                select(Variant.id, Variant.product_id).where(
                    Variant.id.in_(wanted[start : start + CHUNK])
                )
            ).all()
        )
    errors += [FieldError(("variant_ids",), f"no variant {v!r}") for v in wanted if v not in found]
    of_products: dict[str, str] = {}
    for start in range(0, len(products), CHUNK):
        of_products.update(
            session.execute(
                select(Variant.id, Variant.product_id).where(
                    Variant.product_id.in_(products[start : start + CHUNK])
                )
            ).all()
        )
    seen = set(of_products.values())
    errors += [FieldError(("product_ids",), f"no product {p!r}") for p in products if p not in seen]
    selected = {**found, **of_products}
    if len(selected) > MAX_VARIANTS:
        errors.append(FieldError(("variant_ids",), f"at most {MAX_VARIANTS} variants at once"))
    if errors:
        raise ValidationFailed("The channel's items cannot be changed.", errors)

    ids = sorted(selected)
    excluded: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        excluded.update(
            session.scalars(
                select(Exclusion.variant_id).where(
                    Exclusion.channel_id == channel.id,
                    Exclusion.variant_id.in_(ids[start : start + CHUNK]),
                )
            )
        )
    changing = [v for v in ids if (v in excluded) == included]
    if changing:
        if included:
            for start in range(0, len(changing), CHUNK):
                session.execute(
                    delete(Exclusion).where(
                        Exclusion.channel_id == channel.id,
                        Exclusion.variant_id.in_(changing[start : start + CHUNK]),
                    )
                )
        else:
            now = utcnow()
            session.execute(
                insert_or_ignore(session, Exclusion),
                [
                    {
                        "channel_id": channel.id,
                        "variant_id": v,
                        "product_id": selected[v],
                        "created_at": now,
                    }
                    for v in changing
                ],
            )
        events.record(
            session,
            EVENT,
            {
                "channel_id": channel.id,
                "included": included,
                "variants": {v: selected[v] for v in changing},
                "by": actor,
            },
            channel.id,
        )
    return InclusionChange(channel, included, len(changing), len(ids))


def excluded_of_product(session: Session, product_id: str) -> dict[str, set[str]]:
    """Channel id -> the product's variants kept off it."""
    out: dict[str, set[str]] = {}
    for channel_id, variant_id in session.execute(
        select(Exclusion.channel_id, Exclusion.variant_id).where(Exclusion.product_id == product_id)
    ):
        out.setdefault(channel_id, set()).add(variant_id)
    return out


def excluded_variants(session: Session, channel_ref: str) -> list[Exclusion]:
    channel = service.find_channel(session, channel_ref)
    return list(
        session.scalars(
            select(Exclusion)
            .where(Exclusion.channel_id == channel.id)
            .order_by(Exclusion.product_id, Exclusion.variant_id)
        )
    )
