"""Schema upgrades with Alembic, on SQLite and PostgreSQL: a database of the release before Alembic, filled,
keeps every row through the upgrade; the migrations make exactly the schema of the models; a database a
newer build migrated is refused."""

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, table, text

from brain.config import Settings
from brain.events.bus import MemoryBus
from brain.runtime import Brain
from brain.storage import (
    migrate,
    models,  # noqa: F401
)
from brain.storage.db import Base, Database, utcnow
from tests.conftest import private_pg_schema, service_url

DUMPS = Path(__file__).parent / "data"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    """A database with no table at all (committed, so a migration's DDL is real)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield database
        database.dispose()
        return
    url = service_url("DATABASE_URL")
    engine, drop = private_pg_schema(url, tables=False)
    yield Database(url, engine=engine)
    drop()


def _differences(database: Database) -> list:
    with database.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


def _counts(database: Database, names) -> dict[str, int]:
    with database.engine.connect() as conn:
        return {n: conn.scalar(select(func.count()).select_from(table(n))) for n in sorted(names)}


def test_the_migrations_from_nothing_make_exactly_the_schema_of_the_models(empty_db):
    with empty_db.engine.begin() as conn:
        command.upgrade(migrate.config(conn), "head")
    assert _differences(empty_db) == []


def test_a_new_database_is_made_at_the_newest_revision_and_a_second_start_changes_nothing(empty_db):
    assert migrate.upgrade(empty_db.engine) == "created"
    assert _differences(empty_db) == []
    with empty_db.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    assert migrate.upgrade(empty_db.engine) == "current"


def test_a_database_a_newer_build_migrated_is_refused(empty_db):
    empty_db.create_schema()
    with empty_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(migrate.SchemaTooNew, match="9999"):
        empty_db.create_schema()


def test_a_filled_database_of_the_release_before_alembic_keeps_every_row_through_the_upgrade(empty_db, district):
    dump = (DUMPS / f"schema_before_alembic.{empty_db.dialect}.sql").read_text(encoding="utf-8")
    with empty_db.engine.begin() as conn:  # the database as the earlier release made it
        for statement in dump.split(";\n"):
            if statement.strip() and not statement.strip().startswith("--"):
                conn.execute(text(statement))
            elif "CREATE" in statement:
                conn.execute(text("\n".join(x for x in statement.splitlines() if not x.startswith("--"))))
        conn.execute(text("INSERT INTO schema_info (id, version, migrated_at) VALUES (1, 1, :t)"), {"t": utcnow()})
    before_tables = set(inspect(empty_db.engine).get_table_names())
    assert "login_attempts" not in before_tables and "alembic_version" not in before_tables
    # filled through the services, as the earlier release filled it
    from brain.district.seed import seed

    seed(empty_db, district)
    brain = Brain(Settings(simulate=False), district=district, db=empty_db, bus=MemoryBus())
    brain.cases.followers.clear()  # the earlier release kept no field tasks: a case moved alone
    brain.store.projectors.clear()  # and its case_facts had fewer columns (the app rebuilds them from the log)
    from argon2 import PasswordHasher

    with empty_db.engine.begin() as conn:  # an account as the earlier release wrote it (its columns only)
        conn.execute(text("INSERT INTO accounts (username, display_name, role, kind, password_hash, active, "
                          "created_at) VALUES ('li', 'li', 'dispatcher', 'person', :h, :t, :at)"),
                     {"h": PasswordHasher().hash("a-long-password"), "t": True, "at": utcnow()})
    with empty_db.engine.begin() as conn:  # a case as the earlier release wrote it (its columns only)
        now = utcnow()
        conn.execute(text("INSERT INTO cases (channel, category, priority, status, description, lon, lat, pole_number, "
                          "rework_count, deferred_seconds, version, reported_at, stage_started_at, updated_at) VALUES "
                          "('wechat', 'C0107', 'normal', 'registered', '路灯不亮', 121.4485, 31.3290, '0412', 0, 0, 2, "
                          ":t, :t, :t)"), {"t": now})
        case_id = conn.execute(text("SELECT max(id) FROM cases")).scalar()
    with brain.store.unit("t") as u:  # and its events (their table has not changed)
        u.emit("case.opened", "case", case_id, {"channel": "wechat", "category": "C0107", "status": "reported"})
        u.emit("case.registered", "case", case_id, {"from": "reported", "to": "registered", "note": "已核实"})
    devices = district.devices
    dev = str(devices[devices["type"] == "smoke"]["id"].iloc[0])
    assert brain.ingest.handle_alarm({"device_id": dev, "type": "smoke", "ts": utcnow().isoformat()},
                                     source="t").status == "accepted"
    brain.ingest.handle_alarm(b"{broken", source="t", device_from_topic=dev)
    before = _counts(empty_db, before_tables)
    assert before["poles"] == len(district.poles) and before["cases"] == 1 and before["alarms"] == 1
    assert before["events"] >= 3 and before["audit_log"] >= 3 and before["ingest_rejects"] == 1

    assert empty_db.create_schema() is None  # the app's start: stamped as the baseline, then upgraded
    after = _counts(empty_db, before_tables)
    assert after == before  # every row is still there
    assert "login_attempts" in inspect(empty_db.engine).get_table_names()
    assert _differences(empty_db) == []
    with empty_db.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
    # and the upgraded database works: a sign-in counts its attempt in the new table
    brain.auth.login("li", "a-long-password", source="127.0.0.1")
