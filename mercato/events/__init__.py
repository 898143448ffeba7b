"""Events: the transactional outbox every domain records its changes in.

``events.record(session, "product.updated", payload, key=product.id)`` inside the
caller's transaction: the event exists if and only if the change committed.
"""

from mercato.events.service import record, record_many

__all__ = ["record", "record_many"]
