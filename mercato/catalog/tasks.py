"""Catalog work for the worker: uploaded images no product shows any more."""

from mercato.catalog import media
from mercato.jobs import registry


@registry.task("catalog.forget_unused_images", every="1 day")
def forget_unused_images(ctx: registry.JobContext) -> None:
    with ctx.transaction() as session:
        media.forget_unused(session, ctx.now)
