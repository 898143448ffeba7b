"""A channel's health over time: the worker counts its items' verdicts each hour, one row
a day (the day's last count standing), and the channel's page charts them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from mercato.channels import health, sync
from mercato.channels.models import Listing
from mercato.channels.tasks import count_health
from mercato.db import transaction, utcnow
from tests.helpers import signed_in, tee


def test_verdicts_counted_per_day_and_charted(
    client, sessions, sandbox, make_products, make_channel, job_context
):
    make_products(tee(), tee(handle="bad", skus=("BAD-1",), barcode="4006381333932"))
    channel_id = make_channel("google", name="google-us")
    sync.publish(sessions, channel_id)
    sync.read_back(sessions, channel_id)

    count_health(job_context)  # the hourly job
    count_health(job_context)  # counted again the same day: still one row
    yesterday = utcnow() - timedelta(days=1)
    with transaction(sessions) as session:
        session.execute(update(Listing).values(verdict="pending"))
        health.record(session, channel_id, yesterday)
    with sessions() as session:
        days = health.history(session, channel_id, utcnow())
    assert [(d.approved, d.rejected, d.pending) for d in days] == [(0, 0, 3), (2, 1, 0)]
    assert days[0].day == health.today(yesterday)

    page = signed_in(client, sessions, "channels:read").get(f"/admin/channels/{channel_id}").text
    assert 'aria-label="Items by verdict, per day"' in page
    table = page.split('id="table-health"')[1].split("</table>")[0]
    assert table.count("<tr>") == 3  # the header and two days
