"""Group commit: when a batch's transaction fails, each request is written alone and gets
its own answer, and the failure is logged rather than swallowed."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from mercato.events.models import Event
from mercato.events.service import record
from mercato.group_commit import GroupCommit


class Recorder(GroupCommit[str]):
    """Records one event per request; the batch writer fails on a poisoned batch."""

    def write_batch(self, session, requests):
        if "poison" in requests:
            raise RuntimeError("the batch writer broke")
        return [self.write_one(session, r) for r in requests]

    def write_one(self, session, request):
        if request == "poison":
            return ValueError("refused alone")
        record(session, "test.recorded", {"name": request}, key=request)
        return request


def test_a_failed_batch_is_logged_and_each_request_still_gets_its_answer(sessions, caplog):
    recorder = Recorder(sessions)

    async def burst():
        return await asyncio.gather(
            *(recorder.submit(name) for name in ("a", "poison", "b")), return_exceptions=True
        )

    with caplog.at_level(logging.WARNING, logger="mercato.group_commit"):
        answers = asyncio.run(burst())

    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], ValueError)
    with sessions() as session:
        names = sorted(e.payload["name"] for e in session.scalars(select(Event)))
    assert names == ["a", "b"]
    assert any("a batch of 3 failed" in r.getMessage() for r in caplog.records)
