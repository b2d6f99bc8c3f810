"""Small helpers shared by the benchmarks: percentiles, a timing loop, where the CPU went."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, make_url, text


def timings(fn: Callable, items: Iterable) -> np.ndarray:
    """Seconds taken by fn(item) for each item."""
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t0)
    return np.array(out)


def summary(name: str, t: np.ndarray) -> dict:
    return {"name": name, "n": len(t), "p50_us": float(np.percentile(t, 50) * 1e6),
            "p99_us": float(np.percentile(t, 99) * 1e6), "mean_us": float(t.mean() * 1e6)}


def show(rows: list[dict]) -> None:
    print(f"{'':<38}{'n':>8}{'p50 µs':>12}{'p99 µs':>12}{'mean µs':>12}")
    for r in rows:
        print(f"{r['name']:<38}{r['n']:>8}{r['p50_us']:>12.1f}{r['p99_us']:>12.1f}{r['mean_us']:>12.1f}")


def pg_url(database: str, *, fresh: bool = False) -> str:
    """A database of the benchmark's own on the server of DATABASE_URL (default: the local one), created
    if missing (dropped first with `fresh`)."""
    base = make_url(os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    admin = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        if fresh:
            c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if not c.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}):
            c.execute(text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    return base.set(database=database).render_as_string(hide_password=False)


def db_targets(which: str, folder: Path | str, name: str) -> list[tuple[str, str]]:
    """The databases a benchmark runs on (`which`: sqlite, postgresql or both), as (label, URL): a SQLite file
    in `folder`, a fresh PostgreSQL database of its own."""
    out = []
    if which in ("sqlite", "both"):
        out.append(("SQLite", f"sqlite:///{Path(folder) / (name + '.sqlite3')}"))
    if which in ("postgresql", "both"):
        out.append(("PostgreSQL", pg_url(f"bench_{name}", fresh=True)))
    return out


@contextlib.contextmanager
def wall_in_browser(password: str = "bench-admin-pass") -> Iterator[tuple]:
    """The whole app in-process (SQLite in a temporary folder, the demo district, simulator off) and a
    signed-in Chromium with /wall open at 1920x1080, drawn and settled: yields (brain, page)."""
    from playwright.sync_api import sync_playwright

    from brain.config import Settings
    from brain.runtime import Brain
    from tools.browser import ARGS, CHROMIUM, login
    from tools.serve import serve

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            admin_password=password, escalate_after_s=0, monitor_interval_s=0)
        brain = Brain(settings)
        with serve(settings, brain) as app, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                login(page, app.url, "admin", password)
                page.goto(app.url + "/wall")
                page.wait_for_selector(".maplibregl-canvas", timeout=60_000)
                page.wait_for_function(MAP_STILL, timeout=60_000)
                page.wait_for_timeout(1000)
                yield brain, page
            finally:
                browser.close()


MAP_STILL = ("() => window.districtMaps && window.districtMaps['district-map'] && "
             "window.districtMaps['district-map'].still()")

# When the page's map has drawn a live layer's change, note for each feature it brought (by id, and count
# for alarms) the time of that first frame: `window.__drawn[id + '|' + count]` = Date.now(). From the map
# component's documented listeners (`applied` when it takes a delta, `drawn` at the first frame showing a
# layer's update); nothing is polled on frames the page would not draw anyway.
DRAWN_JS = """([layer]) => { window.__drawn = {}; const d = window.districtMaps['district-map'], waiting = new Set();
    d.listen('applied', (e) => {
        if (e.layer !== layer) { return; }
        for (const f of e.features) {
            const key = f.id + '|' + (f.count || 0);
            if (!(key in window.__drawn)) { waiting.add(key); }
        }
    });
    d.listen('drawn', (e) => {
        if (!e.layers.includes(layer)) { return; }
        for (const key of waiting) { window.__drawn[key] = e.at; }
        waiting.clear();
    }); }"""


def stored_alarm_messages(session) -> int:
    """How many alarm messages the database holds as handled (their ids; a refusal's key is not one)."""
    from sqlalchemy import func, select

    from brain.ingest.models import IngestMessage

    return int(session.scalar(select(func.count()).select_from(IngestMessage).where(IngestMessage.kind == "alarm")))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def stat_cpu_seconds(stat: str) -> float:
    """User and system CPU seconds in the text of a /proc/<pid>/stat (or .../task/<tid>/stat) file."""
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds() -> dict[int, tuple[str, float]]:
    """Every process's name (its command line, shortened) and CPU seconds so far, from /proc (Linux)."""
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        out[int(entry.name)] = (args or comm, stat_cpu_seconds(stat))
    return out


def cpu_by_group(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
                 groups: dict[str, Callable[[int, str], bool]]) -> dict[str, float]:
    """CPU seconds spent between two `cpu_seconds()` readings, summed by the first group whose test
    (pid, command line) a process passes; the rest under "other"."""
    spent = dict.fromkeys([*groups, "other"], 0.0)
    for pid, (args, total) in after.items():
        used = total - before.get(pid, (args, 0.0))[1]
        if used <= 0:
            continue
        name = next((g for g, test in groups.items() if test(pid, args)), "other")
        spent[name] += used
    return spent


@contextlib.contextmanager
def field_app(admin_password: str = "bench-admin-pass") -> Iterator[tuple]:
    """The whole app in-process for the field benchmarks (SQLite and photos in a temporary folder, the demo
    district, simulator off), everyone's position just reported, and Playwright: yields (brain, url, p)."""
    from playwright.sync_api import sync_playwright

    from brain.config import Settings
    from brain.runtime import Brain
    from brain.staff.service import Fix
    from brain.storage.db import utcnow
    from tools.serve import serve

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.sqlite3'}", simulate=False,
                            admin_password=admin_password, escalate_after_s=0, monitor_interval_s=0,
                            photo_dir=Path(tmp) / "photos")
        brain = Brain(settings)
        with serve(settings, brain) as app, sync_playwright() as p:
            brain.staff.record_fixes([Fix(s.id, s.lon, s.lat, utcnow()) for s in brain.staff.roster()
                                      if s.lon is not None])
            yield brain, app.url, p


def throttled_visit(browser, url: str, *, kbps: int, rtt_ms: int, up_kbps: int | None = None,
                    viewport: tuple[int, int] = (390, 844), mobile: bool = False,
                    act: Callable | None = None) -> tuple[int, float]:
    """A first visit in a fresh Chromium profile on a throttled network (DevTools emulateNetworkConditions):
    (bytes on the wire, seconds) from asking for `url` to `act(page)` returning (it waits for the page to be
    ready). Bytes are Chrome's encodedDataLength of every response: compressed as sent, headers included."""
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, is_mobile=mobile,
                              device_scale_factor=2 if mobile else 1)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": rtt_ms,
                                                  "downloadThroughput": kbps * 1000 / 8,
                                                  "uploadThroughput": (up_kbps or kbps) * 1000 / 8})
    sizes: dict[str, float] = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    t0 = time.perf_counter()
    page.goto(url)
    if act is not None:
        act(page)
    took = time.perf_counter() - t0
    ctx.close()
    return int(sum(sizes.values())), took


def median_table(rows: dict[str, list[tuple[int, float]]], width: int = 28) -> dict[str, tuple[float, float]]:
    """Print the median KB and seconds of each row's runs; returns them by name."""
    import statistics

    print(f"{'':<{width}}{'KB':>10}{'seconds':>10}")
    out = {}
    for name, runs in rows.items():
        kb = statistics.median(r[0] for r in runs) / 1024
        s = statistics.median(r[1] for r in runs)
        out[name] = (kb, s)
        print(f"{name:<{width}}{kb:>10.1f}{s:>10.2f}")
    return out
