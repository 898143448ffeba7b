"""The merchant's rules over recommendations: exclude, boost or pin a product."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mercato.catalog.models import Product
from mercato.errors import FieldError, NotFound, ValidationFailed
from mercato.recommendations.models import Rule
from mercato.recommendations.schemas import RuleCreate


def list_rules(session: Session) -> list[Rule]:
    return list(session.scalars(select(Rule).order_by(Rule.created_at, Rule.id)))


def titles(session: Session, rules: list[Rule]) -> dict[str, str]:
    """The title of each rule's product, for pages that name products, not ids."""
    ids = {r.product_id for r in rules}
    if not ids:
        return {}
    return dict(session.execute(select(Product.id, Product.title).where(Product.id.in_(ids))).all())


def add(session: Session, data: RuleCreate) -> Rule:
    if session.get(Product, data.product_id) is None:
        raise ValidationFailed(
            "No such product.", [FieldError(("product_id",), f"no product {data.product_id!r}")]
        )
    if data.action != "boost" and data.weight != 1.0:
        raise ValidationFailed(
            "Only a boost has a weight.", [FieldError(("weight",), "only for action boost")]
        )
    rule = Rule(**data.model_dump())
    session.add(rule)
    session.flush()
    return rule


def remove(session: Session, rule_id: str) -> None:
    rule = session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"No recommendation rule {rule_id!r}.")
    session.delete(rule)
