"""Recommendations work for the worker: a new version every night, then the segments'
product sets on the ads platforms brought up to date."""

from mercato.jobs import registry
from mercato.recommendations import product_sets, training


@registry.task(training.TRAIN_JOB, every="1 day", max_attempts=3)
def train(ctx: registry.JobContext) -> None:
    training.train(ctx.sessions, ctx.now)
    product_sets.push_all(ctx.sessions)


@registry.task(product_sets.PUSH_JOB, max_attempts=5)
def push_product_sets(ctx: registry.JobContext) -> None:
    product_sets.push_all(ctx.sessions)


@registry.task(product_sets.DELETE_JOB, max_attempts=5)
def delete_product_set(ctx: registry.JobContext, channel_id: str, external_id: str) -> None:
    product_sets.delete_remote(ctx.sessions, channel_id, external_id)
