"""Shared fixtures: the demo district, databases on SQLite and PostgreSQL, a started brain.

Tests that need a server read its URL from the environment (DATABASE_URL, REDIS_URL, MQTT_URL).
Without it they skip with the reason; with BRAIN_REQUIRE_SERVICES=1 a missing service fails.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update

from brain.config import Settings
from brain.district.models import Device
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from brain.staff.service import Fix
from brain.storage.db import PG_OPTIONS, Database, utcnow
from geodata.district import District
from geodata.gazetteer import Gazetteer

ROOT = Path(__file__).resolve().parent.parent


def missing(message: str):
    """Skip for a missing service or tool, or fail when BRAIN_REQUIRE_SERVICES=1 (as CI sets it)."""
    if os.environ.get("BRAIN_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (BRAIN_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def service_url(name: str) -> str:
    """The URL of a service from the environment, or `missing()`."""
    url = os.environ.get(name)
    if not url:
        missing(f"{name} is not set: this test needs a real server")
    return url


@pytest.fixture(scope="session")
def district() -> District:
    return District.load()


@pytest.fixture(scope="session")
def gazetteer(district) -> Gazetteer:
    return Gazetteer(district)


def private_pg_schema(url: str, district: District | None = None, *, tables: bool = True):
    """A new schema in the PostgreSQL test database with the tables (unless not `tables`) and the district,
    if given, committed; returns (engine, drop) where drop() removes the schema."""
    schema = f"brain_test_{uuid.uuid4().hex[:8]}"
    probe = Database(url)
    with probe.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(probe.url, connect_args={"options": f"-csearch_path={schema} {PG_OPTIONS}"}, pool_size=10)
    from brain.district.seed import seed
    from brain.storage import models  # noqa: F401

    if tables:
        Database(str(probe.url), engine=engine).create_schema()
    if district is not None:
        seed(Database(str(probe.url), engine=engine), district)

    def drop() -> None:
        engine.dispose()
        with probe.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        probe.dispose()

    return engine, drop


@pytest.fixture(scope="session")
def pg_engine():
    """An engine on a private schema of the PostgreSQL test database, created and seeded once per run;
    each test's changes are rolled back."""
    engine, drop = private_pg_schema(service_url("DATABASE_URL"), District.load())
    yield engine
    drop()


def sqlite_database(folder: Path) -> Database:
    database = Database(f"sqlite:///{folder / 'brain.sqlite3'}")
    database.create_schema()
    return database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """A database per test: a fresh SQLite file, or PostgreSQL rolled back after the test."""
    if request.param == "sqlite":
        database = sqlite_database(tmp_path)
        yield database
        database.dispose()
        return
    engine = request.getfixturevalue("pg_engine")
    conn = engine.connect()
    outer = conn.begin()
    database = Database.on_connection(conn)
    database.create_schema()
    yield database
    outer.rollback()
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def concurrent_db(request, tmp_path, district):
    """A database that several threads may use at once (committed, not rolled back): a fresh SQLite file,
    or a private PostgreSQL schema with the district, dropped after the test."""
    if request.param == "sqlite":
        database = sqlite_database(tmp_path)
        yield database
        database.dispose()
        return
    url = service_url("DATABASE_URL")
    engine, drop = private_pg_schema(url, district)
    database = Database(url, engine=engine)
    database.create_schema()
    yield database
    drop()


@pytest.fixture
def brain(db, district, tmp_path) -> Brain:
    """A brain on the demo district, seeded, simulator off."""
    b = Brain(Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0, photo_dir=tmp_path / "photos"),
              district=district, db=db, bus=MemoryBus())
    b.start()
    # Everyone has just reported where they are (the seeded positions may be minutes old by now).
    now = utcnow()
    b.staff.record_fixes([Fix(s.id, s.lon, s.lat, now) for s in b.staff.roster() if s.lon is not None])
    return devices_just_heard(b)


def devices_just_heard(b: Brain) -> Brain:
    """Every device has just been heard from: the seed, once per run on PostgreSQL, may be minutes old by
    now, and an elevator is offline after 7.5 minutes of silence."""
    with b.db.transaction() as s:
        s.execute(update(Device).values(last_seen_at=utcnow()))
    return b


def wait_until(predicate, timeout: float = 10.0) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass; its last answer."""
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own (append-only, fsync always) that the test may kill and start again."""
    from tools.services import OwnRedis

    try:
        server = OwnRedis(tmp_path).start()
    except RuntimeError as e:
        missing(str(e))
    yield server
    server.stop()
