"""The admission gate of a drop: first come first served, a per-buyer limit, a bot
throttle; on the database (embedded) and in Redis (production), where what Redis let in
is drained to the database and both agree after the drop, even when a process is killed
in the middle of it."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
import traceback
from collections import Counter

import pytest
from sqlalchemy import func, select

from mercato.config import Settings
from mercato.db import create_db_engine, make_sessionmaker, transaction
from mercato.live import gate, service
from mercato.live.models import Admission
from mercato.live.schemas import LiveEventCreate
from tests.inventory.conftest import make_variants

UNITS = 30
LIMIT = 2


@pytest.fixture
def drop(sessions) -> tuple[str, str]:
    variant_id = make_variants(sessions, "DROP-G", handle="drop-g")["DROP-G"]
    with transaction(sessions) as session:
        event = service.create_event(
            session,
            LiveEventCreate(title="Drop", products=[{"sku": "DROP-G"}], per_buyer_limit=LIMIT),
        )
        gate.open_gate(session, event.id, variant_id, UNITS)
        return event.id, variant_id


def test_the_database_gate_lets_buyers_in_in_order_up_to_their_limit(sessions, drop):
    event_id, variant_id = drop
    door = gate.DatabaseGate(sessions, gate.Throttle(attempts=3, window=60))
    first = door.admit(event_id, variant_id, "buyer-a", 2, LIMIT, client="10.0.0.1")
    second = door.admit(event_id, variant_id, "buyer-b", 1, LIMIT, client="10.0.0.2")
    assert (first.outcome, first.seq, second.outcome, second.seq) == ("in", 1, "in", 2)
    assert door.admit(event_id, variant_id, "buyer-a", 1, LIMIT).outcome == "limit"
    for _ in range(2):
        door.admit(event_id, variant_id, "buyer-c", 1, LIMIT, client="10.0.0.1")
    assert door.admit(event_id, variant_id, "buyer-d", 1, LIMIT, client="10.0.0.1").outcome == (
        "throttled"
    )
    buyers = (f"b{i}" for i in range(100))
    answers = Counter(
        door.admit(event_id, variant_id, next(buyers), 2, LIMIT).outcome for _ in range(20)
    )
    assert answers == {"in": 12, "sold_out": 8}  # 30 units: 2 + 1 + 2 + 12 x 2 = 29, then 1 left
    assert door.admit(event_id, variant_id, "last", 1, LIMIT).outcome == "in"
    with sessions() as session:
        assert gate.admitted_units(session, event_id, variant_id) == UNITS


def _database_buyer(url, data_dir, event_id, variant_id, seed, start, results):
    engine = create_db_engine(Settings(database_url=url, data_dir=data_dir), url=url)
    door = gate.DatabaseGate(make_sessionmaker(engine), gate.Throttle(attempts=0))
    answers, errors = Counter(), []
    try:
        start.wait(timeout=60)
        rng = random.Random(seed)
        for _ in range(25):
            buyer = f"buyer-{rng.randint(0, 30)}"
            answers[door.admit(event_id, variant_id, buyer, rng.choice((1, 2)), LIMIT).outcome] += 1
    except Exception:  # noqa: BLE001 - every error fails the test
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((answers, errors))


def _per_buyer(sessions, event_id):
    with sessions() as session:
        return dict(
            session.execute(
                select(Admission.buyer, func.sum(Admission.quantity))
                .where(Admission.event_id == event_id)
                .group_by(Admission.buyer)
            ).all()
        )


@pytest.mark.slow
def test_concurrent_buyers_at_the_database_gate_take_exactly_the_units(
    engine, sessions, drop, database_url, tmp_path
):
    event_id, variant_id = drop
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start, results = context.Barrier(4 + 1), context.Queue()
    workers = [
        context.Process(
            target=_database_buyer,
            args=(database_url, str(tmp_path), event_id, variant_id, seed, start, results),
        )
        for seed in range(4)
    ]
    for process in workers:
        process.start()
    start.wait(timeout=60)
    outcomes = [results.get(timeout=240) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    assert [e for _, errs in outcomes for e in errs] == []
    per_buyer = _per_buyer(sessions, event_id)
    assert sum(per_buyer.values()) == UNITS
    assert max(per_buyer.values()) <= LIMIT
    with sessions() as session:
        seqs = session.scalars(select(Admission.seq).where(Admission.event_id == event_id)).all()
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # one place each, none skipped


def test_the_redis_gate_answers_like_the_database_gate(sessions, drop, redis_url):
    import redis

    event_id, variant_id = drop
    door = gate.RedisGate(redis.Redis.from_url(redis_url))
    with transaction(sessions) as session:
        door.open(session, event_id, variant_id, 3)
    assert door.admit(event_id, variant_id, "a", 2, LIMIT).seq == 1
    assert door.admit(event_id, variant_id, "a", 1, LIMIT).outcome == "limit"
    assert door.admit(event_id, variant_id, "b", 2, LIMIT).outcome == "sold_out"
    assert door.admit(event_id, variant_id, "b", 1, LIMIT).outcome == "in"
    answers = [
        door.admit(event_id, variant_id, f"c{i}", 1, LIMIT, client="bot", attempts=2)
        for i in range(3)
    ]
    assert [a.outcome for a in answers] == ["sold_out", "sold_out", "throttled"]
    report = door.reconcile(sessions, event_id, variant_id)
    assert report["agree"] and report["units_in_database"] == 3 and report["remaining"] == 0


def _redis_buyer(url, data_dir, redis_url, event_id, variant_id, seed, start, results, slow):
    """Admits through Redis and drains every few admissions, as an API process would;
    the slow one is the one killed (it sleeps while holding a claim, so that it dies
    with admissions claimed but not committed, or committed but not finished)."""
    import redis

    engine = create_db_engine(Settings(database_url=url, data_dir=data_dir), url=url)
    sessions = make_sessionmaker(engine)
    door = gate.RedisGate(redis.Redis.from_url(redis_url))
    rng = random.Random(seed)
    answers, errors = Counter(), []
    try:
        start.wait(timeout=60)
        for n in range(200):
            buyer = f"buyer-{rng.randint(0, 400)}"
            answer = door.admit(event_id, variant_id, buyer, rng.choice((1, 2)), LIMIT)
            answers[answer.outcome] += 1
            if n % 3 == 2:
                with transaction(sessions) as session:
                    claim = door.drain(session, event_id, limit=5)
                    if slow:
                        time.sleep(0.05)
                if slow:
                    time.sleep(0.05)
                door.finish(event_id, claim)
    except Exception:  # noqa: BLE001 - every error fails the test
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((answers, errors))


@pytest.mark.slow
def test_redis_and_the_database_agree_after_a_drop_with_a_process_killed(
    engine, sessions, database_url, tmp_path, redis_url
):
    import redis

    units = 150
    variant_id = make_variants(sessions, "DROP-R", handle="drop-r")["DROP-R"]
    with transaction(sessions) as session:
        event_id = service.create_event(
            session, LiveEventCreate(title="Drop", products=[{"sku": "DROP-R"}])
        ).id
    client = redis.Redis.from_url(redis_url)
    door = gate.RedisGate(client)
    with transaction(sessions) as session:
        door.open(session, event_id, variant_id, units)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start, results = context.Barrier(3 + 1), context.Queue()
    args = (database_url, str(tmp_path), redis_url, event_id, variant_id)
    workers = [
        context.Process(target=_redis_buyer, args=(*args, seed, start, results, seed == 0))
        for seed in range(3)
    ]
    for process in workers:
        process.start()
    start.wait(timeout=60)
    gate_key = f"mercato:gate:{event_id}:{variant_id}"
    deadline = time.monotonic() + 60
    while int(client.hget(gate_key, "seq") or 0) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(workers[0].pid, signal.SIGKILL)  # mid-drop: admissions claimed, not all written
    outcomes = [results.get(timeout=240) for _ in workers[1:]]
    for process in workers:
        process.join(timeout=30)
    assert [e for _, errs in outcomes for e in errs] == []

    report = door.reconcile(sessions, event_id, variant_id)
    assert report["agree"], report
    assert report["units_in_redis"] == units and report["remaining"] == 0  # sold out
    per_buyer = _per_buyer(sessions, event_id)
    assert sum(per_buyer.values()) == units  # 0 lost
    assert max(per_buyer.values()) <= 2
    with sessions() as session:
        seqs = session.scalars(select(Admission.seq).where(Admission.event_id == event_id)).all()
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # 0 doubled, none missing
    assert door.reconcile(sessions, event_id, variant_id)["agree"]  # and again: idempotent


def test_the_cli_reconciles_the_redis_gate_with_the_database(
    sessions, drop, redis_url, monkeypatch
):
    import redis
    from typer.testing import CliRunner

    from mercato.cli import app
    from mercato.config import get_settings

    event_id, variant_id = drop
    monkeypatch.setenv("MERCATO_REDIS_URL", redis_url)
    get_settings.cache_clear()
    runner = CliRunner()
    opened = runner.invoke(app, ["live", "gate", event_id, "DROP-G", "5"])
    assert opened.exit_code == 0, opened.output
    door = gate.RedisGate(redis.Redis.from_url(redis_url))
    assert door.admit(event_id, variant_id, "a", 2, LIMIT).admitted
    assert door.admit(event_id, variant_id, "b", 1, LIMIT).admitted
    with sessions() as session:
        assert gate.admitted_units(session, event_id, variant_id) == 0  # not drained yet
    done = runner.invoke(app, ["live", "reconcile", event_id, "DROP-G"])
    assert done.exit_code == 0, done.output
    assert "agree: True" in done.output and "units_in_database: 3" in done.output
    with sessions() as session:
        assert gate.admitted_units(session, event_id, variant_id) == 3
