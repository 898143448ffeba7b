"""Engine, sessions and the declarative base; nothing domain-specific."""

from __future__ import annotations

import functools
import itertools
import operator
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.types import TypeDecorator

from mercato.config import Settings, get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Money in minor units: 64 bits on every database (SQLite's INTEGER already is).
Amount = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Mercato stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class DecimalString(TypeDecorator):
    """Exact decimals stored as text, identical on SQLite and PostgreSQL."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return format(Decimal(value).normalize(), "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


class JSONType(TypeDecorator):
    """JSONB on PostgreSQL (indexable), JSON text on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(JSONB() if dialect.name == "postgresql" else JSON())


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # sorts like ASCII
# Two digits at once: 10 bits -> 2 characters.
_CROCKFORD_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]

_id_lock = threading.Lock()
_last_id_value = 0
# The 10 digits of the time part of the last id written out, with that time part: ids
# made in the same millisecond share them.
_last_head: tuple[int, str] = (-1, "")


def new_id(prefix: str) -> str:
    """Immutable, time-ordered id with a type prefix: ``prod_01J...``, a monotonic ULID.

    128 bits: the time in milliseconds (48 bits), then 80 random bits; an id made in the
    same millisecond as the last one (or while the clock is behind it) is the last plus
    one. Ids so sort by creation order within a process, which keyset pagination and
    "in the order given" listings rely on. Written as 26 Crockford base32 digits (the
    first two bits are zero).

    The digits are written two at a time from a table, and the time part's 10 once per
    millisecond: 1.4 us an id against 4.1 us one digit at a time (timeit, idle 2-core
    machine), on any database. The Shopify import makes ~4.75 ids a variant; on
    PostgreSQL at 20k variants they took ~0.8 s of ~6.5 s under the profiler.
    """
    global _last_id_value, _last_head
    with _id_lock:
        millis = time.time_ns() // 1_000_000
        if millis > _last_id_value >> 80:
            _last_id_value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
        else:
            _last_id_value += 1
        value = _last_id_value
    high, head = _last_head
    if value >> 80 != high:
        high = value >> 80
        head = (
            _CROCKFORD[high >> 45]
            + _CROCKFORD_PAIRS[(high >> 35) & 1023]
            + _CROCKFORD_PAIRS[(high >> 25) & 1023]
            + _CROCKFORD_PAIRS[(high >> 15) & 1023]
            + _CROCKFORD_PAIRS[(high >> 5) & 1023]
            + _CROCKFORD[high & 31]
        )
        _last_head = high, head  # one tuple: a thread never sees half of it
    pairs = _CROCKFORD_PAIRS
    return (
        prefix
        + "_"
        + head
        + pairs[(value >> 70) & 1023]
        + pairs[(value >> 60) & 1023]
        + pairs[(value >> 50) & 1023]
        + pairs[(value >> 40) & 1023]
        + pairs[(value >> 30) & 1023]
        + pairs[(value >> 20) & 1023]
        + pairs[(value >> 10) & 1023]
        + pairs[value & 1023]
    )


def insert_rows(session: Session, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """INSERT many rows that all have the same keys, in one batch; returns how many.

    On PostgreSQL (psycopg), one ``COPY ... FROM STDIN`` of plain tuples, each value
    converted by its column type's bind processor: SQLAlchemy's executemany sends each
    row as its own statement and prepares every row's parameters one by one. COPY checks
    the same constraints and fires the same triggers as INSERT.
    ``bench/import_catalog.py --sizes 10000`` on PostgreSQL, three interleaved runs each,
    2-core machine at load average 15-22: with COPY 18.8, 5.7 and 30.7 s, of which
    1.6-1.7 s CPU in the importing process; with executemany 22.4, 10.9 and 48.7 s,
    2.5-2.9 s CPU. On SQLite (and other drivers) this is Core's
    ``session.execute(insert(table), rows)``, as it is when a row leaves out a column that
    has a Python-side default: a raw executemany there saved about 0.3 s CPU of ~2 s on
    the same import, and SQLite is the embedded default, not a tuned one.

    ``rows`` may be a generator: on PostgreSQL each row is then made while the server
    works on the ones sent before it (libpq sends every ~8 kB), instead of the server
    waiting for the whole batch and the importing process then waiting for the server.
    The Shopify import at 20k variants on PostgreSQL, seven interleaved pairs on a 2-core
    machine at load average 6-14 (where the two hardly overlap): median 7.2 s against
    8.9 s with lists (4.1-11.2 s against 4.8-19.8 s), the importing process's CPU
    1.9-2.4 s against 2.1-2.5 s; at 100k, two pairs at load 4-5, 24.4 and 28.4 s against
    21.9 and 33.1 s. SQLite takes the rows as a list, as before.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    connection = session.connection()
    dialect = connection.dialect
    keys = list(first)
    if (dialect.name, dialect.driver) != ("postgresql", "psycopg") or any(
        column.default is not None and column.key not in keys for column in table.columns
    ):
        everything = [first, *rows]
        session.execute(insert(table), everything)
        return len(everything)
    converted, target = _copy_plan(table, tuple(keys), dialect)
    count = 0
    values_of = operator.itemgetter(*keys) if len(keys) > 1 else lambda row: (row[keys[0]],)
    # The last value given to each converted column and what it became: the same object
    # given again (as the one timestamp of a whole batch) is converted once.
    last: list[Any] = [_converted_none] * len(keys)
    last_converted: list[Any] = [None] * len(keys)
    try:
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY {target} FROM STDIN") as copy,
        ):
            for row in itertools.chain((first,), rows):
                values = values_of(row)
                if converted:
                    values = list(values)
                    for i, processor in converted:
                        value = values[i]
                        if value is not last[i]:
                            last[i], last_converted[i] = value, processor(value)
                        values[i] = last_converted[i]
                copy.write_row(values)
                count += 1
    except dialect.loaded_dbapi.Error as exc:
        # The same exception classes (IntegrityError, ...) as an INSERT would raise.
        raise DBAPIError.instance(f"COPY {target}", None, exc, dialect.loaded_dbapi.Error) from exc
    return count


@functools.lru_cache(maxsize=256)
def _copy_plan(table: Table, keys: tuple[str, ...], dialect) -> tuple[list, str]:
    """``insert_rows``' converters (column index, bind processor) and COPY target for
    these columns, worked out once (a drop's checkout writes a few rows at a time)."""
    columns = [table.columns[key] for key in keys]
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    for i, column in enumerate(columns):
        if isinstance(column.type, JSON | JSONType) and processors[i] is not None:
            processors[i] = _json_text(processors[i])
    converted = [(i, processor) for i, processor in enumerate(processors) if processor]
    preparer = dialect.identifier_preparer
    target = (
        f"{preparer.format_table(table)} "
        f"({', '.join(preparer.format_column(column) for column in columns)})"
    )
    return converted, target


def insert_objects(session: Session, *groups: Sequence[Any]) -> None:
    """Write new objects as rows, each group (objects of one mapped class) in one batch
    and in the order given (``insert_rows``: COPY on PostgreSQL), then put them all in
    the session as if loaded, with nothing left to flush. Relationships are not
    followed: give related objects in their own group, with their keys set, after the
    rows they refer to.

    The ORM's flush of the same objects, one multi-row INSERT each, took ~40% of a
    webhook worker's CPU (PostgreSQL), half of it psycopg parsing those long statements."""
    for objects in groups:
        if objects:
            insert_rows(session, type(objects[0]).__table__, rows_of(objects))
    attach_written(session, [obj for objects in groups for obj in objects])


def rows_of(objects: Sequence[Any]) -> list[dict[str, Any]]:
    """New objects of one mapped class as the rows to write: each column not given takes
    its Python default (a callable one called), else None, on the object too."""
    table = type(objects[0]).__table__
    rows = []
    for obj in objects:
        state = obj.__dict__
        for column in table.columns:
            if column.key not in state:
                default, value = column.default, None
                if default is not None and default.is_scalar:
                    value = default.arg
                elif default is not None and default.is_callable:
                    value = default.arg(None)  # wrapped by SQLAlchemy to take a context
                setattr(obj, column.key, value)
        rows.append({column.key: state[column.key] for column in table.columns})
    return rows


def attach_written(session: Session, objects: Sequence[Any]) -> None:
    """Objects whose rows (``rows_of``) were just written, put in the session as if
    loaded, with nothing left to flush."""
    for obj in objects:  # all first: adding one cascades to its related objects
        make_transient_to_detached(obj)
    session.add_all(objects)


def among(column: Any, name: str, postgresql: bool) -> Any:
    """``column IN (the list given as :name when executed)``, in a statement of one shape
    whatever the list's length: ``= ANY(array)`` on PostgreSQL, an expanding IN elsewhere.
    Built once (cached by the caller), the statement is compiled once and psycopg
    prepares it; a literal IN list is rendered again for every length. PostgreSQL, a
    lookup of 12 identities (``customers.identities``): 0.29 ms of CPU against 0.62 ms."""
    if postgresql:
        return column == func.any(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def create_db_engine(settings: Settings | None = None, url: str | None = None) -> Engine:
    """The engine. A failed statement's error (logged, kept as a job's last error) never
    carries its parameters: they may be a buyer's personal data."""
    settings = settings or get_settings()
    url = url or settings.sqlalchemy_url
    if url.startswith("sqlite"):
        if ":memory:" not in url and url.startswith("sqlite:///"):
            settings.ensure_data_dir()
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            hide_parameters=True,
        )
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        pool_pre_ping=True,
        hide_parameters=True,
    )
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "connect", _binary_arrays)
    return engine


def _binary_arrays(dbapi_connection, _record) -> None:
    """Lists (the arrays of fixed-shape inserts and of ``among``) sent in PostgreSQL's
    binary format: psycopg writes a text array in Python, quoting each element, 16 us for
    6 strings against 2.4 us in binary. A batch of 6 new people in the inbox sends about
    50 such arrays."""
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy drive BEGIN so that writers take the lock up front (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # WAL is a property of the file: switch once. Asking again on every new connection
        # would queue for the lock behind busy writers.
        if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    writers = WriterQueue()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Writers take the lock at BEGIN (IMMEDIATE): concurrent writers then queue on
        # the busy timeout instead of failing with "database is locked" on upgrade.
        # Readers begin deferred and never wait for a writer under WAL.
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # Writers of this process queue in turn first: SQLite's busy handler polls with
        # growing sleeps, so threads racing for the file lock wait far longer than the
        # lock is held, and the unlucky ones time out under a burst.
        info = connection.connection.info
        if not info.get(_HOLDS_WRITE_TURN):
            if not writers.acquire(busy_timeout_ms / 1000):
                raise TimeoutError(
                    f"no write turn within {busy_timeout_ms} ms: "
                    "another writer of this process holds the database"
                )
            info[_HOLDS_WRITE_TURN] = True
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        # Back in the pool means committed or rolled back: the next writer's turn.
        if record is not None and record.info.pop(_HOLDS_WRITE_TURN, False):
            writers.release()

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(_dbapi_connection, record, _exception):
        if record is not None and record.info.pop(_HOLDS_WRITE_TURN, False):
            writers.release()


_HOLDS_WRITE_TURN = "mercato_holds_write_turn"


class WriterQueue:
    """A first-come first-served lock, handed directly from each holder to the next.

    SQLite only (PostgreSQL queues writers on row locks itself). SQLite's busy handler
    polls with growing sleeps and keeps no order, so under a burst a writer can wait far
    longer than the lock is ever held, past the busy timeout, and fail with "database is
    locked" while later arrivals go first; queued here, every writer of the process waits
    its turn in arrival order. ``bench/live_drop.py`` on SQLite (1,000 units, 64 buyers,
    2 cores at load average 14-33): bare-write p99 1.7 and 2.4 s with it against 4.4 and
    3.6 s without; the checkout flow (50 units, 16 buyers) p99 12.9 s against 21.4 s. A
    full test run without it at load ~30 failed one request with "database is locked".
    """

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._mutex:
            if turn in self._waiting:
                self._waiting.remove(turn)
                return False
        return True  # handed over just as the wait timed out

    def release(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


READ_ONLY = "mercato_read_only"


@dataclass(frozen=True)
class Sessions:
    """Session factories for work that opens its own short transactions (none may be held
    while a platform or payment provider answers): writes, and reads that take no lock."""

    write: sessionmaker[Session]
    read: sessionmaker[Session]

    @classmethod
    def of(cls, sessions: Sessions | sessionmaker[Session]) -> Sessions:
        """``sessions`` as is, or a write sessionmaker with read sessions on its engine."""
        if isinstance(sessions, Sessions):
            return sessions
        return cls(sessions, make_sessionmaker(sessions.kw["bind"], read_only=True))


def make_sessionmaker(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    if read_only:
        engine = engine.execution_options(**{READ_ONLY: True})
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits everything on success, nothing on error."""
    with factory() as session, session.begin():
        yield session


def _json_text(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's bind processor for COPY: dicts and lists as JSON text written by
    orjson, which PostgreSQL parses as it would psycopg's ``Jsonb`` (written with the
    standard library's ``json``); anything else, or anything orjson would write where
    ``json`` refuses (datetimes, dataclasses, subclasses), through ``processor`` as before.
    ``bench/import_catalog.py`` on PostgreSQL writes 3 JSON values a variant; this took
    their share of the importing process's CPU from ~5% to under 1% at 20k variants
    (py-spy, 2-core machine at load average ~4). SQLite does not come here.
    """
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    options |= orjson.OPT_PASSTHROUGH_SUBCLASS

    def process(value):
        if type(value) is dict or type(value) is list:
            try:
                return orjson.dumps(value, option=options).decode()
            except TypeError:
                pass
        return processor(value)

    return process


_converted_none = object()
