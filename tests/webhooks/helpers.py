"""Shared steps of the webhook tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from standardwebhooks import Webhook

from mercato import events
from mercato.db import transaction
from mercato.webhooks import service
from mercato.webhooks.schemas import EndpointCreate

MERCATO = str(Path(sys.executable).parent / "mercato")
ROOT = Path(__file__).resolve().parents[2]


def make_endpoint(sessions, url: str, **fields):
    with transaction(sessions) as session:
        return service.create_endpoint(session, EndpointCreate(url=url, **fields))


def record_events(
    sessions, count: int, keys: int, per_transaction: int = 100, type: str = "product.updated"
) -> list[str]:
    """``count`` events spread over ``keys`` keys; their ids in seq order."""
    ids = []
    for start in range(0, count, per_transaction):
        with transaction(sessions) as session:
            batch = [
                events.record(session, type, {"n": n}, key=f"key-{n % keys}")
                for n in range(start, min(count, start + per_transaction))
            ]
        ids += [e.id for e in batch]
    return ids


def check_deliveries(requests, secret: str, event_ids: list[str]) -> None:
    """Every event arrived, signed, with its own webhook-id, and in order per key."""
    verifier = Webhook(secret)
    position = {event_id: i for i, event_id in enumerate(event_ids)}
    by_key: dict[str, list[int]] = defaultdict(list)
    for request in requests:
        payload = verifier.verify(request.body, request.headers)
        assert request.headers["webhook-id"] == payload["id"]
        by_key[payload["key"]].append(position[payload["id"]])
    assert {r.headers["webhook-id"] for r in requests} == set(event_ids)
    for key, seen in by_key.items():
        # A redelivery repeats the same event; a later one never overtakes an earlier one.
        assert seen == sorted(seen), f"out of order for {key}"


def start_worker(*args: str, log: Path, python: str | None = None) -> subprocess.Popen:
    """``mercato worker`` in a process of its own; ``python`` runs first (test jobs)."""
    command = (
        [sys.executable, "-c", f"{python}\nfrom mercato.cli import app\napp()"]
        if python
        else [MERCATO]
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "worker", *args],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    """Signal once (a second SIGTERM would mean "stop now") and wait for the exit code."""
    if process.poll() is None and not getattr(process, "signalled", False):
        process.send_signal(sig)
        process.signalled = True
    try:
        return process.wait(timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def payload(request) -> dict:
    return json.loads(request.body)
