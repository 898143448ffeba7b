"""Checkouts whose hold lapsed give their stock back; payments their request left
pending, and refunds left waiting for the provider, are finished with its word."""

from mercato.checkout import recovery, service
from mercato.jobs import registry
from mercato.orders import refunds


@registry.task("checkout.expire", every="1 minute")
def expire(ctx: registry.JobContext) -> None:
    while True:
        with ctx.transaction() as session:
            if service.expire_lapsed(session, ctx.now) < 500:
                return


@registry.task("checkout.reconcile_payments", every="1 minute")
def reconcile(ctx: registry.JobContext) -> None:
    recovery.reconcile(ctx.sessions, ctx.now)
    refunds.reconcile(ctx.sessions, ctx.now)
