"""Routes tried by the start of the request's path, not one after another.

FastAPI matches a request against the app's routes in order, and an included router by
matching each of its routes (again when it handles the request), so a request to a
router included late paid for every route before it: about 3.5 us a route, 0.6 to 1.3 ms
of CPU for a request to the merchant's API or the dashboard out of 2 to 3 ms for a bare
request. ``PrefixRoutes`` remembers, for each of the app's routes, the fixed start of
every path it serves (up to the first parameter) and tries only the routes whose fixed
start the request's path begins with, in their order: the first full match is the one
FastAPI's own loop would find. Anything else (a wrong method, a trailing slash, an
unknown path, a route added afterwards) goes through FastAPI's loop, so its 405s,
redirects and 404s stay FastAPI's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.routing import Match, get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

# How many of a path's first segments pick its bucket ("/api/v1/checkouts/..." -> api,
# v1, checkouts): enough to tell the API's domains apart.
_KEY_SEGMENTS = 3


def _bucket(path: str) -> tuple[str, tuple[str, ...]]:
    """A route path's fixed start, and its first segments that are whole in every match."""
    start, brace, _ = path.partition("{")
    segments = start.split("/")[1:]
    if brace:
        segments = segments[:-1]  # the last one runs into a parameter
    return start, tuple(segments[:_KEY_SEGMENTS])


class PrefixRoutes:
    """Includes routers into ``app`` and, once ``install``-ed, dispatches by path start."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._paths: dict[int, list[str]] = {}  # id(top-level route) -> paths it serves

    def include(self, router: APIRouter, prefix: str = "") -> None:
        routes = self.app.router.routes
        before = len(routes)
        self.app.include_router(router, prefix=prefix)
        paths = [prefix + getattr(route, "path", "") for route in router.routes]
        for route in routes[before:]:
            self._paths[id(route)] = paths

    def mount(self, path: str, app: ASGIApp, name: str) -> None:
        self.app.mount(path, app, name=name)
        self._paths[id(self.app.router.routes[-1])] = [path + "/"]

    def install(self) -> None:
        router = self.app.router
        if router.middleware_stack != router.app:
            return  # the router has middleware of its own: keep FastAPI's dispatch whole
        router.middleware_stack = _Dispatch(router.app, router.routes, self._paths)


class _Dispatch:
    def __init__(self, fallback: Any, routes: Iterable[Any], paths: dict[int, list[str]]):
        self.fallback = fallback
        self.paths = sorted({path for served in paths.values() for path in served})
        # Per key (a path's first whole segments, at most _KEY_SEGMENTS of them): the
        # (order, fixed start, route) of the paths with that key.
        self.buckets: dict[tuple[str, ...], list[tuple[int, str, Any]]] = {}
        for order, route in enumerate(routes):
            # A route added around PrefixRoutes: its own path, else (a router) any path.
            for path in paths.get(id(route), [getattr(route, "path", None) or ""]):
                start, key = _bucket(path)
                self.buckets.setdefault(key, []).append((order, start, route))

    def candidates(self, path: str) -> list[Any]:
        segments = tuple(path.split("/", _KEY_SEGMENTS + 1)[1 : _KEY_SEGMENTS + 1])
        found = {
            order: route
            for size in range(len(segments) + 1)
            for order, start, route in self.buckets.get(segments[:size], ())
            if path.startswith(start)
        }
        return [found[order] for order in sorted(found)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "fastapi.telemetry" not in scope:
            for route in self.candidates(get_route_path(scope)):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self.fallback.__self__)
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)
