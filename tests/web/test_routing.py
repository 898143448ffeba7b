"""Routes tried by the start of the path pick what FastAPI's loop over every route picks."""

import re

from starlette.routing import Match

from mercato.web.routing import PrefixRoutes

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _request_paths(template: str) -> list[str]:
    filled = re.sub(r"\{[^}:]+:path\}", "a/b.css", template)
    filled = re.sub(r"\{[^}]+\}", "x1", filled)
    return [filled, filled + "/", filled + "/more", filled.rstrip("/") + "-x"]


def _first_full(routes, scope):
    for route in routes:
        scope_copy = dict(scope)
        if route.matches(scope_copy)[0] is Match.FULL:
            return route
    return None


def test_every_route_of_the_app_is_found_as_fastapi_would_find_it(app):
    dispatch = app.router.middleware_stack
    assert dispatch.paths, "the app dispatches by path start"
    assert len(dispatch.paths) > 250
    checked = 0
    for template in dispatch.paths:
        for path in _request_paths(template):
            for method in METHODS:
                scope = {"type": "http", "method": method, "path": path, "root_path": ""}
                expected = _first_full(app.router.routes, scope)
                assert _first_full(dispatch.candidates(path), scope) is expected, (method, path)
                checked += expected is not None
    assert checked > 300


def test_answers_stay_fastapis_for_what_no_route_serves(client, admin):
    # A wrong method: 405 with the methods allowed, as a problem.
    wrong = client.delete("/api/v1/checkouts", headers=admin)
    assert wrong.status_code == 405
    assert wrong.json()["type"].endswith("method-not-allowed")
    # An unknown path: 404 as a problem.
    assert client.get("/api/v1/no-such-thing", headers=admin).json()["status"] == 404
    # A route served at the path without its trailing slash: redirected.
    slash = client.get("/api/v1/products/", headers=admin, follow_redirects=False)
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/api/v1/products")


def test_a_route_added_after_the_index_is_still_served(app, client):
    @app.get("/late/{name}")
    def late(name: str) -> dict[str, str]:
        return {"name": name}

    assert client.get("/late/ada").json() == {"name": "ada"}


def test_routes_included_in_order_win_in_order():
    from fastapi import APIRouter, FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    first, second = APIRouter(prefix="/items"), APIRouter(prefix="/items")
    first.add_api_route("/{item_id}", lambda item_id: {"by": "first"}, methods=["GET"])
    second.add_api_route("/special", lambda: {"by": "second"}, methods=["GET"])
    routes = PrefixRoutes(app)
    routes.include(first)
    routes.include(second)
    routes.mount("/files", FastAPI(), name="files")
    routes.install()
    with TestClient(app) as client:
        # FastAPI's rule: the first route that matches, even if a later one is more exact.
        assert client.get("/items/special").json() == {"by": "first"}
        assert client.get("/items/7").json() == {"by": "first"}
