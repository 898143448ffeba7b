"""What one API process keeps for live events: the admission gate (Redis when
configured, else the database) and the counters' hub, made on first use."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from mercato import wakeups
from mercato.db import Sessions
from mercato.live import fanout, gate


@dataclass
class LiveRuntime:
    gate: gate.DatabaseGate | gate.RedisGate
    hub: fanout.CounterHub
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
                    client,
                )
            else:
                runtime = LiveRuntime(
                    gate.DatabaseGate(sessions.write, gate.Throttle(tries)),
                    fanout.CounterHub(sessions.read, listen=listen),
                )
            state.live_runtime = runtime
    return runtime
