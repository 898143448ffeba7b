import pytest
from sqlalchemy import select

from mercato.catalog import service
from mercato.catalog.schemas import ProductCreate, ProductUpdate
from mercato.db import transaction
from mercato.events.models import Event


def events(sessions):
    with sessions() as session:
        return [
            (e.type, e.key, e.payload["skus"])
            for e in session.scalars(select(Event).order_by(Event.seq))
        ]


def product(**extra):
    return ProductCreate(
        title="Mug", handle="mug", variants=[{"sku": "MUG-1", "price": 900}], **extra
    )


def test_every_change_records_an_event_in_the_same_transaction(sessions):
    with transaction(sessions) as session:
        created = service.create_product(session, product())
    with transaction(sessions) as session:
        service.update_product(session, created.id, ProductUpdate(title="Big mug"))
    with transaction(sessions) as session:
        service.update_product(session, created.id, ProductUpdate(title="Big mug"))  # no-op
    with transaction(sessions) as session:
        service.delete_product(session, created.id)
    assert events(sessions) == [
        ("product.created", created.id, ["MUG-1"]),
        ("product.updated", created.id, ["MUG-1"]),
        ("product.deleted", created.id, ["MUG-1"]),
    ]


def test_a_rolled_back_change_records_no_event(sessions):
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        service.create_product(session, product())
        raise RuntimeError("the caller failed after the service call")
    assert events(sessions) == []
