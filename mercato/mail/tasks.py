"""Mail work for the worker: the events consumer that makes mails, and their sending."""

from mercato.events import service as events_service
from mercato.jobs import registry
from mercato.mail import service

ATTEMPTS = 8


@events_service.consumer("mail")
def make_mails(session, batch, now) -> None:
    service.queue_for(session, batch)


@registry.task(service.SEND_JOB, max_attempts=ATTEMPTS, backoff_base="30 seconds")
def send(ctx: registry.JobContext, mail_id: str) -> None:
    service.deliver(ctx.sessions, mail_id, last_attempt=ctx.attempt >= ATTEMPTS)
