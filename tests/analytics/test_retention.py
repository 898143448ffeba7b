"""Retention: the periodic job deletes touches older than the configured days, only them."""

from datetime import timedelta

from mercato.analytics import ledger
from mercato.config import get_settings
from mercato.db import transaction, utcnow
from mercato.jobs import registry
from tests.analytics.ledger_helpers import touches


def _touch(event_id: str, at) -> dict:
    return {"event_id": event_id, "kind": "visit", "source": "browser", "at": at}


def test_retention_deletes_only_touches_older_than_the_setting(sessions, job_context, monkeypatch):
    monkeypatch.setenv("MERCATO_ANALYTICS_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    now = job_context.now
    with transaction(sessions) as session:
        ledger.record(
            session,
            [
                _touch("old-visit", now - timedelta(days=31)),
                _touch("kept-visit", now - timedelta(days=29)),
            ],
        )
    registry.load_all()
    registry.TASKS["analytics.forget_old_touches"].fn(job_context)
    assert [t.event_id for t in touches(sessions)] == ["kept-visit"]

    monkeypatch.setenv("MERCATO_ANALYTICS_RETENTION_DAYS", "0")  # 0 keeps everything
    get_settings.cache_clear()
    with transaction(sessions) as session:
        ledger.record(session, [_touch("ancient", utcnow() - timedelta(days=3000))])
    registry.TASKS["analytics.forget_old_touches"].fn(job_context)
    assert len(touches(sessions)) == 2
