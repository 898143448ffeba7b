"""The one transaction per request: kept when the handler returns, nothing kept when it
refuses (raising, or rendering the refusal itself after a rollback)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from mercato.errors import Conflict
from mercato.inventory import locations
from mercato.inventory.models import Location
from mercato.inventory.schemas import LocationInput
from mercato.web.sessions import ReadSession, WriteSession


def _codes(sessions) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(Location.code)))


def test_a_write_is_kept_only_when_the_handler_succeeds(app, sessions):
    @app.post("/t/kept")
    def kept(session: WriteSession):
        locations.save_location(session, "kept", LocationInput(name="Kept"))
        return {"ok": True}

    @app.post("/t/raised")
    def raised(session: WriteSession):
        locations.save_location(session, "raised", LocationInput(name="Raised"))
        raise Conflict("refused after the write began")

    @app.post("/t/rendered")
    def rendered(session: WriteSession):
        locations.save_location(session, "rendered", LocationInput(name="Rendered"))
        session.rollback()  # a refusal answered as a page keeps nothing either
        return {"refused": True}

    @app.get("/t/read")
    def read(session: ReadSession):
        return sorted(session.scalars(select(Location.code)))

    with TestClient(app) as client:
        assert client.post("/t/kept").status_code == 200
        answer = client.post("/t/raised")
        assert answer.status_code == 409
        assert answer.headers["content-type"] == "application/problem+json"
        assert client.post("/t/rendered").json() == {"refused": True}
        assert "kept" in client.get("/t/read").json()
    assert {"raised", "rendered"}.isdisjoint(_codes(sessions))
    assert "kept" in _codes(sessions)
