"""The simulators answer a body that is not JSON, or JSON of the wrong shape, with 400 as
the platforms do; never with a server error."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from mercato.sandbox.app import create_app

BODIES = [b"{not json", b"[1, 2, 3]", b'"text"', b"{}", b'{"requests": 5, "items": "x"}', b"\xff"]


def _write_routes():
    app = create_app()
    for mount in app.routes:
        if not isinstance(mount, Mount):
            continue
        for route in mount.routes:
            if isinstance(route, APIRoute):
                for method in route.methods & {"POST", "PUT", "PATCH"}:
                    yield method, mount.path + re.sub(r"\{[^}]+\}", "x", route.path)


ROUTES = sorted(set(_write_routes()))


def test_every_simulator_has_write_routes_to_check():
    kinds = {path.split("/")[1] for _, path in ROUTES}
    assert {"meta", "google", "tiktok", "pinterest"} <= kinds


@pytest.mark.parametrize("method,path", ROUTES)
def test_malformed_bodies_are_refused_not_crashed_on(method, path):
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        for body in BODIES:
            response = client.request(
                method,
                path,
                content=body,
                headers={"content-type": "application/json", "authorization": "Bearer t"},
            )
            assert response.status_code < 500, (body, response.status_code, response.text)
