"""Reservations whose hold lapsed are marked expired, with their expiry movements.

A lapsed hold stopped counting against stock when it expired; this only tidies, so
that the reservation no longer shows ``active``.
"""

from mercato.inventory import reservations
from mercato.jobs import registry


@registry.task("inventory.sweep_expired", every="1 minute")
def sweep_expired(ctx: registry.JobContext) -> None:
    while True:
        with ctx.transaction() as session:
            if reservations.sweep_expired(session, ctx.now) < reservations.SWEEP_BATCH:
                return
