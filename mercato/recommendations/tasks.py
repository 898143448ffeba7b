"""Recommendations work for the worker: a new version every night."""

from mercato.jobs import registry
from mercato.recommendations import training


@registry.task(training.TRAIN_JOB, every="1 day", max_attempts=3)
def train(ctx: registry.JobContext) -> None:
    training.train(ctx.sessions, ctx.now)
