"""The admission gate of a drop: a fair queue in front of checkout when demand exceeds
stock. First come, first served (each admission gets the next place, ``seq``), at most
the event's per-buyer limit per buyer, and a simple bot throttle (attempts per client
address a window). A buyer hears "in", "sold out", "limit" or "throttled" at once.

Two gates, one contract:

- ``DatabaseGate`` (the embedded default): one transaction per admission; the units
  left are a counter row taken with a conditional UPDATE (``remaining >= :q``), the
  buyer's units another (``taken + :q <= :limit``), the admission row written with them.
- ``RedisGate`` (production): one atomic Lua script checks and takes (throttle, limit,
  units) and appends the admission to a log; ``drain`` copies the log to the database
  (idempotent on the admission's ticket, then trims), ``reconcile`` drains what is
  left after the drop and compares both counts. A process killed between the script
  and the drain loses nothing (the log is in Redis) and doubles nothing (tickets are
  unique in the database).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from mercato import inserts
from mercato.checkout import service as checkout_service
from mercato.db import new_id, transaction, utcnow
from mercato.errors import Conflict
from mercato.live.models import Admission, GateBuyer, GateCounter, LiveEvent

counters_table, buyers_table, admissions_table = (
    GateCounter.__table__,
    GateBuyer.__table__,
    Admission.__table__,
)

# Attempts one client address may make a window before it is throttled (0: no limit).
ATTEMPTS_PER_WINDOW = 20
WINDOW_SECONDS = 10
DRAIN_BATCH = 500


@dataclass(frozen=True)
class Answer:
    """``outcome``: "in" (with the ticket and place), "sold_out", "limit", "throttled"."""

    outcome: str
    ticket: str | None = None
    seq: int | None = None

    @property
    def admitted(self) -> bool:
        return self.outcome == "in"


@dataclass
class Claim:
    """Admissions one drainer took from the log: its list's key and the entries."""

    key: str
    entries: list[bytes]


def _ticket() -> str:
    return secrets.token_hex(12)


class Throttle:
    """Attempts per key in a sliding window, in this process (the database gate's bot
    throttle; the Redis gate counts in Redis, for every process at once)."""

    def __init__(self, attempts: int = ATTEMPTS_PER_WINDOW, window: float = WINDOW_SECONDS):
        self.attempts, self.window = attempts, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str | None, now: float | None = None) -> bool:
        if not key or self.attempts <= 0:
            return True
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.attempts:
                return False
            seen.append(now)
            if len(self._seen) > 100_000:  # forget idle clients
                self._seen = {k: v for k, v in self._seen.items() if v}
            return True


# ---------------------------------------------------------------- opening


def open_gate(session: Session, event_id: str, variant_id: str, units: int) -> None:
    """Let ``units`` units of the variant through the event's gate (again: the units
    still to admit become ``units``). The database row is the truth both gates start from."""
    if session.get(LiveEvent, event_id) is None:
        raise Conflict(f"No live event {event_id!r}.")
    done = session.execute(
        update(counters_table)
        .where(counters_table.c.event_id == event_id, counters_table.c.variant_id == variant_id)
        .values(remaining=units)
    ).rowcount
    if not done:
        session.execute(
            insert(counters_table).values(
                id=new_id("gat"),
                event_id=event_id,
                variant_id=variant_id,
                remaining=units,
                admitted=0,
            )
        )


def admitted_units(session: Session, event_id: str, variant_id: str) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(admissions_table.c.quantity), 0)).where(
            admissions_table.c.event_id == event_id, admissions_table.c.variant_id == variant_id
        )
    )


# ---------------------------------------------------------------- the database gate


class DatabaseGate:
    def __init__(self, sessions, throttle: Throttle | None = None) -> None:
        self.sessions = sessions
        self.throttle = throttle or Throttle()

    def admit(
        self,
        event_id: str,
        variant_id: str,
        buyer: str,
        quantity: int,
        limit: int,
        client: str | None = None,
    ) -> Answer:
        if not self.throttle.allow(client):
            return Answer("throttled")
        with transaction(self.sessions) as session:
            return admit_in_database(session, event_id, variant_id, buyer, quantity, limit)

    def use(self, event_id: str, ticket: str) -> bool:
        """Mark an admission's pass used; False if it was used already (or is unknown)."""
        return self._move(event_id, ticket, "admitted", "checked_out")

    def give_back(self, event_id: str, ticket: str) -> None:
        self._move(event_id, ticket, "checked_out", "admitted")

    def lapse(self, sessions, event_id: str, before: datetime) -> int:
        """Admissions of the event not used by ``before`` lapse, and those whose checkout
        expired unpaid are abandoned: their units go back to the gate and their buyers'
        limits (in one transaction). Returns how many."""
        with transaction(sessions) as session:
            rows = session.execute(
                update(admissions_table)
                .where(
                    admissions_table.c.event_id == event_id,
                    admissions_table.c.state == "admitted",
                    admissions_table.c.created_at < before,
                )
                .values(state="lapsed")
                .returning(*_UNITS)
            ).all()
            rows += _abandon(session, event_id)
            _give_back_in_database(session, event_id, rows)
        return len(rows)

    def _move(self, event_id: str, ticket: str, from_state: str, to_state: str) -> bool:
        with transaction(self.sessions) as session:
            return bool(
                session.execute(
                    update(admissions_table)
                    .where(
                        admissions_table.c.event_id == event_id,
                        admissions_table.c.ticket == ticket,
                        admissions_table.c.state == from_state,
                    )
                    .values(state=to_state)
                ).rowcount
            )


def admit_in_database(
    session: Session,
    event_id: str,
    variant_id: str,
    buyer: str,
    quantity: int,
    limit: int,
    now: datetime | None = None,
) -> Answer:
    """One admission, in the caller's transaction: the buyer's units, then the gate's
    (rows locked in that order by every admission), then the admission row."""
    session.execute(
        inserts.insert_or_ignore(session, buyers_table, ("event_id", "buyer")),
        {"id": new_id("gby"), "event_id": event_id, "buyer": buyer, "taken": 0},
    )
    within_limit = session.execute(
        update(buyers_table)
        .where(
            buyers_table.c.event_id == event_id,
            buyers_table.c.buyer == buyer,
            buyers_table.c.taken + quantity <= limit,
        )
        .values(taken=buyers_table.c.taken + quantity)
    ).rowcount
    if not within_limit:
        return Answer("limit")
    row = session.execute(
        update(counters_table)
        .where(
            counters_table.c.event_id == event_id,
            counters_table.c.variant_id == variant_id,
            counters_table.c.remaining >= quantity,
        )
        .values(
            remaining=counters_table.c.remaining - quantity,
            admitted=counters_table.c.admitted + 1,
        )
        .returning(counters_table.c.admitted)
    ).first()
    if row is None:
        session.execute(  # the buyer's units back: nothing was let in
            update(buyers_table)
            .where(buyers_table.c.event_id == event_id, buyers_table.c.buyer == buyer)
            .values(taken=buyers_table.c.taken - quantity)
        )
        return Answer("sold_out")
    ticket = _ticket()
    session.execute(
        insert(admissions_table).values(
            id=new_id("adm"),
            event_id=event_id,
            variant_id=variant_id,
            ticket=ticket,
            buyer=buyer,
            quantity=quantity,
            seq=row.admitted,
            state="admitted",
            created_at=now or utcnow(),
        )
    )
    return Answer("in", ticket, row.admitted)


_UNITS = (admissions_table.c.variant_id, admissions_table.c.buyer, admissions_table.c.quantity)


def _abandon(session: Session, event_id: str, returning=_UNITS) -> list:
    """The event's admissions used for a checkout that expired unpaid become abandoned;
    their rows (``returning``), whose units the gate may now give to the next buyers."""
    return session.execute(
        update(admissions_table)
        .where(
            admissions_table.c.event_id == event_id,
            admissions_table.c.state == "checked_out",
            checkout_service.expired_unpaid(admissions_table.c.ticket),
        )
        .values(state="abandoned")
        .returning(*returning)
    ).all()


def _give_back_in_database(session: Session, event_id: str, rows) -> None:
    """Units of lapsed admissions (variant, buyer, quantity) back to the gate's counters
    and the buyers' limits."""
    by_variant: dict[str, int] = {}
    by_buyer: dict[str, int] = {}
    for variant_id, buyer, quantity in rows:
        by_variant[variant_id] = by_variant.get(variant_id, 0) + quantity
        by_buyer[buyer] = by_buyer.get(buyer, 0) + quantity
    for variant_id, units in sorted(by_variant.items()):
        session.execute(
            update(counters_table)
            .where(counters_table.c.event_id == event_id, counters_table.c.variant_id == variant_id)
            .values(remaining=counters_table.c.remaining + units)
        )
    for buyer, units in sorted(by_buyer.items()):
        session.execute(
            update(buyers_table)
            .where(buyers_table.c.event_id == event_id, buyers_table.c.buyer == buyer)
            .values(taken=buyers_table.c.taken - units)
        )


# ---------------------------------------------------------------- the Redis gate

# KEYS: gate hash (remaining, seq), buyers hash, client counter, admission log
# ARGV: buyer, quantity, limit, attempts per window (0: none), window seconds, ticket,
#       variant id
ADMIT_SCRIPT = """
local remaining = tonumber(redis.call('HGET', KEYS[1], 'remaining') or '-1')
if remaining < 0 then return {-3, 0} end
local attempts = tonumber(ARGV[4])
if attempts > 0 then
  local n = redis.call('INCR', KEYS[3])
  if n == 1 then redis.call('EXPIRE', KEYS[3], tonumber(ARGV[5])) end
  if n > attempts then return {-2, 0} end
end
local quantity = tonumber(ARGV[2])
local taken = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if taken + quantity > tonumber(ARGV[3]) then return {-1, taken} end
if remaining < quantity then return {0, 0} end
redis.call('HINCRBY', KEYS[1], 'remaining', -quantity)
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HINCRBY', KEYS[1], 'units', quantity)
redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
redis.call('RPUSH', KEYS[4], cjson.encode({ARGV[6], ARGV[1], quantity, seq, ARGV[7]}))
return {1, seq}
"""
# KEYS: the log, this claim's list, the set of open claims. ARGV: how many.
CLAIM_SCRIPT = """
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items > 0 then
  redis.call('LTRIM', KEYS[1], #items, -1)
  redis.call('RPUSH', KEYS[2], unpack(items))
  redis.call('SADD', KEYS[3], KEYS[2])
end
return items
"""
OUTCOMES = {1: "in", 0: "sold_out", -1: "limit", -2: "throttled", -3: "closed"}


class RedisGate:
    """The gate in Redis, shared by every API process; ``prefix`` separates stores."""

    def __init__(
        self, client, prefix: str = "mercato:gate", attempts: int = ATTEMPTS_PER_WINDOW
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.attempts = attempts
        self._admit = client.register_script(ADMIT_SCRIPT)
        self._claim = client.register_script(CLAIM_SCRIPT)

    def _keys(self, event_id: str, variant_id: str) -> tuple[str, str, str]:
        base = f"{self.prefix}:{event_id}"
        return f"{base}:{variant_id}", f"{base}:buyers", f"{base}:log"

    def open(self, session: Session, event_id: str, variant_id: str, units: int) -> None:
        """Open in the database (the truth) and in Redis, with what is left to admit."""
        open_gate(session, event_id, variant_id, units)
        gate, _, _ = self._keys(event_id, variant_id)
        if self.redis.exists(gate):
            self.redis.hset(gate, "remaining", units)
        else:
            self.redis.hset(gate, mapping={"remaining": units, "seq": 0, "units": 0})

    def admit(
        self,
        event_id: str,
        variant_id: str,
        buyer: str,
        quantity: int,
        limit: int,
        client: str | None = None,
        attempts: int | None = None,
    ) -> Answer:
        gate, buyers, log = self._keys(event_id, variant_id)
        window = int(time.time()) // WINDOW_SECONDS
        throttle = f"{self.prefix}:{event_id}:client:{client or '-'}:{window}"
        ticket = _ticket()
        code, seq = self._admit(
            keys=[gate, buyers, throttle, log],
            args=[
                buyer,
                quantity,
                limit,
                (self.attempts if attempts is None else attempts) if client else 0,
                WINDOW_SECONDS,
                ticket,
                variant_id,
            ],
        )
        outcome = OUTCOMES[int(code)]
        if outcome == "closed":
            raise Conflict("The gate of this drop is not open.")
        return Answer(outcome, ticket if outcome == "in" else None, int(seq) or None)

    def use(self, event_id: str, ticket: str) -> bool:
        """Mark an admission's pass used, once, in Redis (where the admission is; its row
        reaches the database with the next drain). Kept a day: longer than any pass."""
        return bool(self.redis.set(self._used(event_id, ticket), 1, nx=True, ex=86_400))

    def give_back(self, event_id: str, ticket: str) -> None:
        self.redis.delete(self._used(event_id, ticket))

    def lapse(self, sessions, event_id: str, before: datetime) -> int:
        """Admissions drained to the database and not used by ``before`` lapse: each is
        marked used in Redis first (so its pass can no longer start a checkout), and only
        those it was not used for give their units back to the gate and their buyers'
        limits in Redis; the rows say which lapsed and which checked out. Those checked
        out whose checkout expired unpaid are then abandoned and give their units back
        too. A run that dies half-way gives nothing back twice: its marks say "lapsed"
        (or "abandoned") to the next run."""
        with transaction(sessions) as session:
            rows = session.execute(
                select(
                    admissions_table.c.id,
                    admissions_table.c.ticket,
                    admissions_table.c.variant_id,
                    admissions_table.c.buyer,
                    admissions_table.c.quantity,
                ).where(
                    admissions_table.c.event_id == event_id,
                    admissions_table.c.state == "admitted",
                    admissions_table.c.created_at < before,
                )
            ).all()
            lapsed, used, to_give = [], [], []
            for row in rows:
                key = self._used(event_id, row.ticket)
                if self.redis.set(key, "lapsed", nx=True, ex=86_400):
                    lapsed.append(row.id)
                    to_give.append(row)
                elif self.redis.get(key) == b"lapsed":  # an earlier run gave it back
                    lapsed.append(row.id)
                else:
                    used.append(row.id)
            for ids, state in ((lapsed, "lapsed"), (used, "checked_out")):
                if ids:
                    session.execute(
                        update(admissions_table)
                        .where(admissions_table.c.id.in_(ids))
                        .values(state=state)
                    )
            abandoned = _abandon(session, event_id, (admissions_table.c.ticket, *_UNITS))
            # Marked before giving back: a run whose transaction then fails leaves the rows
            # checked out, and the next run finds the marks and gives nothing again.
            to_give += [
                row
                for row in abandoned
                if self.redis.set(
                    self._used(event_id, row.ticket) + ":abandoned", 1, nx=True, ex=86_400
                )
            ]
            pipe = self.redis.pipeline()
            for row in to_give:
                gate, buyers, _ = self._keys(event_id, row.variant_id)
                pipe.hincrby(gate, "remaining", row.quantity)
                pipe.hincrby(buyers, row.buyer, -row.quantity)
            pipe.execute()
        return len(lapsed) + len(abandoned)

    def _used(self, event_id: str, ticket: str) -> str:
        return f"{self.prefix}:{event_id}:used:{ticket}"

    def drain(self, session: Session, event_id: str, limit: int = DRAIN_BATCH) -> Claim:
        """Claim up to ``limit`` admissions from Redis's log (moved, atomically, to a list
        of this claim's own) and insert them in the caller's transaction; ``finish`` the
        claim once that committed. A drainer that dies leaves its claim for ``recover``;
        tickets are unique in the database, so copying a claim twice doubles nothing."""
        _, _, log = self._keys(event_id, "")
        claim = Claim(f"{log}:claim:{new_id('clm')}", [])
        claim.entries = self._claim(keys=[log, claim.key, f"{log}:claims"], args=[limit])
        self._insert(session, event_id, claim.entries)
        return claim

    def _insert(self, session: Session, event_id: str, entries: list[bytes]) -> None:
        rows = []
        now = utcnow()
        for raw in entries:
            ticket, buyer, quantity, seq, variant_id = orjson.loads(raw)
            rows.append(
                {
                    "id": new_id("adm"),
                    "event_id": event_id,
                    "variant_id": variant_id,
                    "ticket": ticket,
                    "buyer": buyer,
                    "quantity": int(quantity),
                    "seq": int(seq),
                    "state": "admitted",
                    "created_at": now,
                }
            )
        if rows:
            session.execute(
                inserts.insert_or_ignore(session, admissions_table, ("event_id", "ticket")), rows
            )

    def finish(self, event_id: str, claim: Claim) -> None:
        """Forget a claim whose admissions are committed in the database."""
        _, _, log = self._keys(event_id, "")
        self.redis.delete(claim.key)
        self.redis.srem(f"{log}:claims", claim.key)

    def recover(self, sessions, event_id: str) -> int:
        """Copy the claims of drainers that died (or are still at it) into the database;
        returns the entries copied."""
        _, _, log = self._keys(event_id, "")
        copied = 0
        for key in sorted(self.redis.smembers(f"{log}:claims")):
            entries = self.redis.lrange(key, 0, -1)
            with transaction(sessions) as session:
                self._insert(session, event_id, entries)
            self.finish(event_id, Claim(key.decode(), entries))
            copied += len(entries)
        return copied

    def drain_all(self, sessions, event_id: str) -> int:
        total = 0
        while True:
            with transaction(sessions) as session:
                claim = self.drain(session, event_id)
            self.finish(event_id, claim)
            total += len(claim.entries)
            if len(claim.entries) < DRAIN_BATCH:
                return total

    def reconcile(self, sessions, event_id: str, variant_id: str) -> dict[str, Any]:
        """After the drop: copy what dead drainers claimed and drain what is left, then
        compare what Redis let in (units and admissions) with the admissions in the
        database, and set the database counter to what Redis has left, so both gates
        agree. Returns both counts."""
        drained = self.recover(sessions, event_id) + self.drain_all(sessions, event_id)
        gate, _, _ = self._keys(event_id, variant_id)
        state = self.redis.hgetall(gate)
        remaining = int(state.get(b"remaining", 0))
        in_redis = (int(state.get(b"units", 0)), int(state.get(b"seq", 0)))
        with transaction(sessions) as session:
            in_database = session.execute(
                select(func.coalesce(func.sum(admissions_table.c.quantity), 0), func.count()).where(
                    admissions_table.c.event_id == event_id,
                    admissions_table.c.variant_id == variant_id,
                )
            ).one()
            session.execute(
                update(counters_table)
                .where(
                    counters_table.c.event_id == event_id,
                    counters_table.c.variant_id == variant_id,
                )
                .values(remaining=remaining, admitted=in_database[1])
            )
        return {
            "drained": drained,
            "units_in_redis": in_redis[0],
            "units_in_database": int(in_database[0]),
            "admissions_in_redis": in_redis[1],
            "admissions_in_database": int(in_database[1]),
            "remaining": remaining,
            "agree": in_redis == (int(in_database[0]), int(in_database[1])),
        }
