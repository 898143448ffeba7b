"""Order jobs: process a received platform webhook, poll the platforms for orders
(recovering any webhook that never came), push the merchant's actions back."""

from __future__ import annotations

import logging

from mercato import jobs
from mercato.channels import http as channel_http
from mercato.channels import orders as platforms
from mercato.db import Sessions
from mercato.orders import intake, push

logger = logging.getLogger("mercato.orders")


@jobs.batch_task(intake.PROCESS_JOB, size=intake.PROCESS_BATCH, backoff_base="2 seconds")
def process_inbound(ctx: jobs.BatchContext, batch: list[jobs.Batched]) -> list[Exception | None]:
    return intake.process_events(
        ctx.read_sessions, ctx.sessions, [job.args["inbound_id"] for job in batch]
    )


@jobs.task("orders.poll", every="5 minutes")
def poll_orders(ctx: jobs.JobContext) -> None:
    """Every connection with an order API: orders updated since the stored cursor."""
    with ctx.read_sessions() as session:
        targets = intake.poll_targets(session)
    for pull in targets:
        try:
            _poll_one(ctx, pull)
        except channel_http.PlatformError:
            # One platform's trouble never holds another back; the next run retries.
            logger.warning("polling orders of %s failed", pull.channel_id, exc_info=True)


def _poll_one(ctx: jobs.JobContext, pull: intake.OrderPull) -> None:
    with ctx.read_sessions() as session:
        since = intake.poll_since(intake.cursor_of(session, pull.channel_id))
    page_cursor = None
    with channel_http.open_client(pull.base_url) as http:
        client = platforms.client_for(pull, http, Sessions(ctx.sessions, ctx.read_sessions))
        for _ in range(intake.MAX_POLL_PAGES):
            page = client.list_orders(since, page_cursor)
            pull.documents = page.documents
            with ctx.transaction() as session:
                applied = intake.apply_pulled(session, pull)
                intake.save_cursor(session, pull.channel_id, applied, ctx.now)
            page_cursor = page.next_cursor
            if not page_cursor:
                break


@jobs.task(push.JOB, backoff_base="5 seconds")
def push_to_platform(ctx: jobs.JobContext, order_id: str, action: str, ref: str) -> None:
    push.perform(ctx.sessions, ctx.read_sessions, order_id, action, ref)
