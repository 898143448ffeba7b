"""Checkouts whose hold lapsed give their stock back."""

from mercato.checkout import service
from mercato.jobs import registry


@registry.task("checkout.expire", every="1 minute")
def expire(ctx: registry.JobContext) -> None:
    while True:
        with ctx.transaction() as session:
            if service.expire_lapsed(session, ctx.now) < 500:
                return
