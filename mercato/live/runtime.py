"""What one API process keeps for live events: the admission gate (Redis when
configured, else the database), the counters' hub and what is on sale, made on first
use."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mercato import wakeups
from mercato.db import Sessions
from mercato.live import fanout, gate, service

# Seconds the admission trusts what it read is on sale (the pin, the live price, the
# limit). The checkout reads it afresh and refuses a pass for a product unpinned since.
OFFER_SECONDS = 1.0


@dataclass
class Offers:
    """What each event has on sale, read at most once an ``OFFER_SECONDS`` per process
    rather than once per buyer: in a drop every buyer asks at once. PostgreSQL + Redis,
    bench/live_event.py (500 units, 5,000 buyers, 64 at once), two runs each: admissions
    244 and 315 a second read per buyer, 588 and 492 with this (the bare Redis operation:
    649-713)."""

    read: Callable
    known: dict[str, tuple[float, service.Offer]] = field(default_factory=dict)

    def of(self, event_id: str) -> service.Offer:
        now = time.monotonic()
        found = self.known.get(event_id)
        if found is not None and found[0] > now:
            return found[1]
        with self.read() as session:
            offer = service.offer(session, event_id)
        if len(self.known) > 1000:  # events no longer asked about
            self.known = {k: v for k, v in self.known.items() if v[0] > now}
        self.known[event_id] = (now + OFFER_SECONDS, offer)
        return offer


@dataclass
class LiveRuntime:
    gate: gate.DatabaseGate | gate.RedisGate
    hub: fanout.CounterHub
    offers: Offers
    redis: object | None = None


_lock = threading.Lock()


def of(state) -> LiveRuntime:
    """The process's runtime, kept on the app's ``state`` (its settings and sessions)."""
    runtime = getattr(state, "live_runtime", None)
    if runtime is not None:
        return runtime
    with _lock:
        runtime = getattr(state, "live_runtime", None)
        if runtime is None:
            sessions: Sessions = state.sessions
            redis_url, tries = state.settings.redis_url, state.settings.drop_tries_per_10s

            def listen():  # other processes' commits wake the counters' readers
                return wakeups.listen(state.engine)

            if redis_url:
                import redis

                client = redis.Redis.from_url(redis_url)
                viewers = fanout.RedisViewers(client, f"{os.getpid()}-{id(state)}")
                runtime = LiveRuntime(
                    gate.RedisGate(client, attempts=tries),
                    fanout.CounterHub(sessions.read, viewers, listen),
                    Offers(sessions.read),
                    client,
                )
            else:
                runtime = LiveRuntime(
                    gate.DatabaseGate(sessions.write, gate.Throttle(tries)),
                    fanout.CounterHub(sessions.read, listen=listen),
                    Offers(sessions.read),
                )
            state.live_runtime = runtime
    return runtime
