"""Each new order linked to its buyer's profile (customers.identities): the platform's
buyer id and contact points for a platform order, the contact points given through the
API; the checkout says more of a storefront buyer (who signed in) and gives it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from mercato.customers import identities
from mercato.customers.identities import Claim, Observation
from mercato.orders.models import Order
from mercato.orders.schemas import OrderCreate


def observation(order: Order, data: OrderCreate, actor: str) -> Observation:
    """What the order says about its buyer. A platform (actor ``channel:<kind>``)
    vouches for its buyer's id and their account's email; a shipping phone (perhaps a
    gift's recipient) and whatever is typed elsewhere are unverified."""
    platform = actor.removeprefix("channel:") if actor.startswith("channel:") else None
    claims = []
    if platform and data.customer.external_id:
        claims.append(
            Claim("platform", data.customer.external_id, f"{platform}:{order.channel}", True)
        )
    address = data.shipping_address.model_dump() if data.shipping_address else None
    claims += identities.contact_claims(
        email=data.customer.email,
        phone=data.customer.phone,
        email_verified=platform is not None,
        name=data.customer.name,
        address=address,
    )
    return Observation(f"order:{order.id}", claims, name=data.customer.name)


def link(
    session: Session, made: Sequence[tuple[Order, OrderCreate, Observation | None]], actor: str
) -> None:
    """Set each new order's ``customer_id`` before it is written, all in a few
    statements (``identities.resolve_many``); an order that says nothing of its buyer
    stays without one."""
    seen = [(order, given or observation(order, data, actor)) for order, data, given in made]
    seen = [(order, buyer) for order, buyer in seen if buyer.claims or buyer.known_customer_id]
    for (order, _), row in zip(
        seen, identities.resolve_many(session, [b for _, b in seen]), strict=True
    ):
        order.customer_id = row
