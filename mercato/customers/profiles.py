"""What the merchant edits on a profile: name, language, notes and tags (the profile's
root row holds them; tags of every row of the profile are the profile's)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mercato.customers.merges import root_of, rows_of
from mercato.customers.models import Customer, Tag
from mercato.db import new_id, utcnow
from mercato.events import service as events
from mercato.system import audit


def tags_of(session: Session, profile_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each profile's tags, sorted."""
    ids = list(profile_ids)
    found: dict[str, set[str]] = {p: set() for p in ids}
    if ids:
        query = (
            select(Customer.profile_id, Tag.tag)
            .join(Customer, Customer.id == Tag.customer_id)
            .where(Customer.profile_id.in_(ids))
        )
        for profile_id, tag in session.execute(query):
            found[profile_id].add(tag)
    return {p: sorted(tags) for p, tags in found.items()}


def update(
    session: Session,
    customer_id: str,
    *,
    fields: dict,
    tags: list[str] | None = None,
    actor: str,
) -> Customer:
    """Set name, language, notes (those given) and, when given, the tags (exactly these);
    the change is in the audit log (which fields, never their values)."""
    root = root_of(session, customer_id)
    for key in ("name", "language", "notes"):
        if key in fields:
            setattr(root, key, fields[key])
    if tags is not None:
        wanted = set(tags)
        rows = rows_of(session, root.id)
        session.execute(
            delete(Tag).where(Tag.customer_id.in_(rows), Tag.tag.not_in(wanted or {""}))
        )
        have = tags_of(session, [root.id])[root.id]
        session.add_all(
            Tag(id=new_id("ctg"), customer_id=root.id, tag=tag)
            for tag in sorted(wanted - set(have))
        )
    root.updated_at = utcnow()
    session.flush()
    changed = [k for k in ("name", "language", "notes") if k in fields]
    changed += ["tags"] if tags is not None else []
    audit.record(session, actor, "changed", root.id, "profile: " + ", ".join(changed or ["-"]))
    events.record(session, "customer.updated", {"customer_id": root.id}, key=root.id)
    return root
