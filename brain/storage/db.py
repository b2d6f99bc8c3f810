"""Engine, sessions and the schema for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    DateTime,
    Float,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock the domain uses)."""
    return datetime.now(UTC)


def new_id() -> str:
    """A new identifier: 128 random bits as 32 hex digits (the shape of a uuid4's hex, at less than a
    third of its cost: an event is made for every alarm an ingest batch raises or repeats)."""
    return os.urandom(16).hex()


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime given; the domain only stores timezone-aware times")
    return value


class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = _aware(value).astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EpochSeconds(TypeDecorator):
    """A UTC instant stored as seconds since the Unix epoch (a float), read back timezone-aware.

    For read models that are scanned in bulk (the KPI facts): a number column is read without parsing
    and turned into a time column of a frame in one vectorised step."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else _aware(value).timestamp()

    def process_result_value(self, value, dialect):
        return None if value is None else datetime.fromtimestamp(value, UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def pg_array_literal(values: list) -> str | None:
    """`values` as the text of a PostgreSQL array (``{"a","b"}``, ``{1.5,NULL}``), or None where that
    text would need more than JSON's plain form (a value JSON escapes: a quote, a backslash or a control
    character; NaN; or a type JSON has no form for). A JSON array of text, numbers, times and nulls reads the same as an
    array literal once its brackets are braces; orjson writes it in C, where psycopg's list dumper
    costs a batch of a thousand ids 2 ms of Python and a thousand times 10 ms. Times are written as
    UTC where naive, as everywhere in the brain."""
    try:
        written = orjson.dumps(values, option=orjson.OPT_NAIVE_UTC).decode()
    except TypeError:
        return None
    if "\\" in written or any(isinstance(v, float) and not math.isfinite(v) for v in values):
        return None  # escapes JSON and PostgreSQL read differently (\n); NaN, which JSON writes as null
    return "{" + written[1:-1] + "}"


def pg_array(values, kind, name: str | None = None) -> Any:
    """A PostgreSQL array parameter of `values` typed as arrays of `kind` (a column's type; UTCDateTime
    as timestamptz, whose values are aware already): sent as the array's text where it has a plain one
    (pg_array_literal), else as a list for psycopg to write."""
    kind = kind.impl if isinstance(kind, TypeDecorator) else kind
    values = list(values)
    written = pg_array_literal(values)
    if written is None:
        return bindparam(name, values, type_=ARRAY(kind))
    return bindparam(name, written, type_=_ArrayLiteral(kind))


class _ArrayLiteral(TypeDecorator):
    """An array parameter given as its literal text: rendered ``%(p)s::VARCHAR(40)[]`` and sent untyped,
    so PostgreSQL reads the text as the array once, when the statement is bound. (A CAST of a text
    parameter would be evaluated again for every row a prepared statement's generic plan looks at.)"""

    impl = ARRAY
    cache_ok = True

    def bind_processor(self, dialect):
        return None  # the literal goes as it is


def among(session: Session, column, values) -> Any:
    """`column IN values`. On PostgreSQL one array parameter (``= ANY(:values)``): the statement is the
    same however many values, so it is neither re-rendered nor re-parsed for each list length."""
    if _postgres(session):
        return column == any_(pg_array(values, column.type))
    return column.in_(list(values))


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert many rows (all with the same keys), in the order given, in the session's transaction: on
    PostgreSQL one COPY (each value made ready by its column's type, as an INSERT would), elsewhere
    executemany. What the session holds is flushed first, so rows are written in the order they were made
    (an event's `seq`)."""
    if not rows:
        return
    if not _postgres(session):
        session.execute(table.insert(), rows)
        return
    from psycopg import sql

    session.flush()
    columns = list(rows[0])
    dialect = session.get_bind().dialect
    ready = [(c, table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) for c in columns]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    raw: Any = session.connection().connection.dbapi_connection  # psycopg's, in the session's transaction
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] if process is None else process(row[c]) for c, process in ready])


def insert_new(session: Session, table: Table, key: str, keys, **same) -> set:
    """Insert a row for each of `keys` not in `table` yet (column `key`; the other columns `same` for all)
    with ON CONFLICT DO NOTHING, in one statement; returns the keys inserted.

    A row another transaction is inserting at the same moment is waited for (PostgreSQL) and then
    skipped, so it is not reported as inserted here."""
    keys = sorted(keys)  # one lock order for every worker
    if not keys:
        return set()
    if _postgres(session):
        from sqlalchemy.dialects import postgresql

        rows = select(func.unnest(pg_array(keys, table.c[key].type, "keys")),
                      *[literal(v, type_=table.c[c].type).label(c) for c, v in same.items()])
        stmt: Any = postgresql.insert(table).from_select([key, *same], rows).on_conflict_do_nothing(
            index_elements=[key])
        return set(session.scalars(stmt.returning(table.c[key])))
    from sqlalchemy.dialects import sqlite

    stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=[key])
    return set(session.scalars(stmt.returning(table.c[key]), [{key: k, **same} for k in keys]))


PG_OPTIONS = "-c plan_cache_mode=force_custom_plan"  # every PostgreSQL connection's (see Database)


class Database:
    """One engine and its session factory; `transaction()` is the unit every service writes in."""

    def __init__(self, url: str, *, echo: bool = False, engine: Engine | None = None) -> None:
        self.url = make_url(url)
        if self.url.drivername in ("postgresql", "postgres"):
            self.url = self.url.set(drivername="postgresql+psycopg")  # the driver we ship
        if engine is None:
            kwargs: dict = {"echo": echo, "future": True}
            if self.url.get_backend_name() == "sqlite":
                if self.url.database and self.url.database != ":memory:":
                    Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
                kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            else:
                # Custom plans only: a statement the driver has prepared (from its fifth run) may otherwise be
                # given one generic plan for good, chosen while a quiet district's alarms table is small (a
                # sequential scan); a storm then grows the table tenfold in seconds, long before a new
                # ANALYZE, and every batch's `= ANY(array)` lookup scanned it row by row: repeats in batches of 100
                # took 4.5 times as long (bench.ingest_batches). Planning for the values costs 10-35% more in
                # batches of 400 and about 10% at 1,000, where the planner weighs each of the array's values;
                # a worker keeping up with a storm handles a few dozen messages at a time.
                kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": PG_OPTIONS})
            engine = create_engine(self.url, **kwargs)
            if self.url.get_backend_name() == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
        self.engine = engine
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    @classmethod
    def on_connection(cls, connection) -> Database:
        """A Database whose sessions join `connection`'s open transaction through savepoints (tests)."""
        db = cls.__new__(cls)
        db.url = connection.engine.url
        db.engine = connection.engine
        db.sessions = sessionmaker(bind=connection, expire_on_commit=False,
                                   join_transaction_mode="create_savepoint")
        return db

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed (closing it rolls back, keeps loaded rows)."""
        with self.sessions() as session:
            yield session

    def create_schema(self) -> None:
        """Make or migrate the schema to this build's (Alembic: brain/storage/migrate.py); SchemaTooNew for
        a database a newer build migrated."""
        from brain.storage import migrate

        migrate.upgrade(self.engine)

    def health(self) -> dict:
        """Whether the database answers, with its dialect; never raises."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return {"ok": True, "dialect": self.dialect}
        except Exception as exc:  # health must report, not fail
            return {"ok": False, "dialect": self.dialect, "error": str(exc).splitlines()[0]}

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["Base", "Database", "UTCDateTime", "select", "utcnow"]
