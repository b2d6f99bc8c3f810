"""The live picture: headline counters, the takeover alarm and how fresh each feed is."""

import asyncio
import threading
import time
from datetime import timedelta

import pytest

from brain.events.bus import MemoryBus
from brain.events.types import Event
from brain.live import FEED_SILENCE_S, Changes, Followed, Freshness, snapshot
from brain.staff.service import Fix
from brain.storage.db import utcnow


def test_each_feed_is_fresh_after_news_and_silent_after_its_limit(brain):
    now = utcnow()
    ages = brain.freshness.ages(now)
    assert ages["staff"][1] is False  # the fixture has just reported everyone's position
    dev = brain.district.devices["id"].iloc[0]
    assert brain.freshness.last["alarms"] is None and ages["alarms"] == (None, True)
    brain.alarms.raise_alarm(device_id=str(dev), type=_type_of(brain, dev))
    assert brain.freshness.ages(utcnow())["alarms"][1] is False
    later = utcnow() + timedelta(seconds=FEED_SILENCE_S["staff"] + 1)
    assert brain.freshness.ages(later)["staff"][1] is True  # positions stopped: the wall turns it red
    person = brain.staff.roster()[0]
    brain.freshness.last["staff"] = now - timedelta(hours=1)  # silent for an hour
    assert brain.freshness.ages(utcnow())["staff"][1] is True
    brain.staff.record_fixes([Fix(person.id, person.lon, person.lat, utcnow())])
    age, silent = brain.freshness.ages(utcnow())["staff"]
    assert age < 5 and not silent


def test_freshness_is_seeded_from_the_data_at_start(brain):
    brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    f = Freshness()
    f.seed(snapshot(brain))
    ages = f.ages(utcnow())
    assert ages["cases"][0] is not None and ages["cases"][0] < 60 and ages["staff"][1] is False


def _type_of(brain, dev):
    from brain.alarms.enums import ALARM_TYPES

    kind = brain.district.devices.set_index("id").loc[dev, "type"]
    return next(iter(ALARM_TYPES[kind]))


def test_a_change_wakes_a_waiting_screen_at_once_from_another_thread():
    changes = Changes()

    async def scenario():
        seen = changes.seq
        threading.Timer(0.05, changes.bump).start()
        t0 = time.monotonic()
        seq = await changes.wait(seen, timeout=30)
        return seq - seen, time.monotonic() - t0

    moved, waited = asyncio.run(scenario())
    assert moved == 1
    assert waited < 10  # woken by the bump, far before its 30 s timeout


def test_a_quiet_wait_returns_the_same_counter_after_its_timeout_and_a_missed_change_returns_at_once():
    changes = Changes()

    async def scenario():
        quiet = await changes.wait(changes.seq, timeout=0.05)
        changes.bump()
        missed = await changes.wait(quiet, timeout=30)  # bumped before the wait began
        return quiet, missed

    assert asyncio.run(scenario()) == (0, 1)


def test_only_changes_to_the_live_layers_move_the_counter():
    bus, changes = MemoryBus(), Changes()
    changes.attach(bus)
    for kind in ("case.opened", "alarm.raised", "staff.moved", "auth.login", "kpi.export", "device.maintenance"):
        bus.publish(Event(kind, "x", "1", "test"))
    assert changes.seq == 3
    changes.detach()
    bus.publish(Event("case.closed", "case", "1", "test"))
    assert changes.seq == 3


def test_the_brain_counts_live_changes_as_they_are_committed(brain):
    before = brain.changes.seq
    brain.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="test")
    assert brain.changes.seq > before


def test_pushes_are_spaced_by_twice_what_a_live_update_costs_and_never_closer_than_the_floor():
    from brain.live import Pace

    pace = Pace(0.15, weight=0.5)
    assert pace.gap() == 0.15  # nothing measured yet
    pace.record(0.8)
    pace.record(0.8)
    assert pace.gap() == pytest.approx(2 * 0.6)  # half-way, then three quarters of the way to 0.8
    for _ in range(30):
        pace.record(0.01)  # the storm is over: cheap updates bring it back to the floor
    assert pace.gap() == 0.15


def test_a_waiting_screen_is_woken_once_however_many_changes_come_before_it_runs():
    changes = Changes()
    woken = []

    async def main():
        loop = asyncio.get_running_loop()
        original = loop.call_soon_threadsafe

        def counted(fn, *args):
            woken.append(fn)
            return original(fn, *args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        waiter = asyncio.ensure_future(changes.wait(changes.seq, 5.0))
        await asyncio.sleep(0.01)
        for _ in range(500):
            changes.bump()
        return await waiter

    assert asyncio.run(main()) == 500
    assert len(woken) == 1


class _Reads:
    """A load function that counts its reads; `during` runs in the middle of the next read."""

    def __init__(self) -> None:
        self.n = 0
        self.during = None

    def __call__(self) -> list[int]:
        self.n += 1
        if self.during:
            during, self.during = self.during, None
            during()
        return [self.n]


def _event(kind: str) -> Event:
    return Event(type=kind, subject_type="case", subject_id="1", actor="test", payload={})


def test_a_followed_read_is_kept_until_an_event_it_follows_arrives():
    bus, reads = MemoryBus(), _Reads()
    cases = Followed(reads, ("case.*",))
    cases.attach(bus)
    assert cases.get() == cases.get() == [1] and reads.n == 1
    bus.publish(_event("alarm.raised"))  # not one it follows
    assert cases.get() == [1]
    bus.publish(_event("case.dispatched"))
    assert cases.get() == [2] and cases.get() == [2] and reads.n == 2
    cases.detach()  # no longer told of changes: every get reads
    assert cases.get() == [3] and cases.get() == [4]


def test_an_event_during_the_read_makes_the_next_get_read_again():
    bus, reads = MemoryBus(), _Reads()
    cases = Followed(reads, ("case.*",))
    cases.attach(bus)
    reads.during = lambda: bus.publish(_event("case.registered"))  # the read may already miss it
    assert cases.get() == [1]
    assert cases.get() == [2] and cases.get() == [2]


def test_a_followed_read_is_read_again_once_it_is_old_even_without_events():
    bus, reads, now = MemoryBus(), _Reads(), [100.0]
    cases = Followed(reads, ("case.*",), max_age_s=10.0, clock=lambda: now[0])
    cases.attach(bus)
    assert cases.get() == [1]
    now[0] += 9.9
    assert cases.get() == [1]
    now[0] += 0.2  # an event lost with Redis shows for no longer than this
    assert cases.get() == [2]


def test_a_read_not_attached_to_a_bus_is_never_kept_and_one_without_patterns_only_for_its_age():
    reads = _Reads()
    unfollowed = Followed(reads, ("case.*",))
    assert [unfollowed.get(), unfollowed.get()] == [[1], [2]]
    now, counted = [0.0], _Reads()
    timed = Followed(counted, max_age_s=5.0, clock=lambda: now[0])
    assert timed.get() == timed.get() == [1]
    now[0] = 5.0
    assert timed.get() == [2]


def test_the_snapshot_sees_a_new_case_and_a_move_at_once_and_reads_nothing_when_nothing_changed(brain):
    snapshot(brain)
    reads = brain.live.reads
    again = snapshot(brain)
    assert brain.live.reads == reads and again.at >= brain.live.at - timedelta(seconds=1)
    case = brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    assert case.id in [c.id for c in snapshot(brain).cases]
    person = brain.staff.roster()[0]
    brain.staff.record_fixes([Fix(person.id, person.lon + 0.001, person.lat, utcnow())])
    moved = next(s for s in snapshot(brain).staff if s.id == person.id)
    assert moved.lon == pytest.approx(person.lon + 0.001)
    assert brain.live.reads == reads  # a case read by its id, a move from its event: no layer read whole


def test_a_page_is_sent_what_changed_since_the_versions_it_holds_and_nothing_more(brain):
    brain.live.refresh()
    held = brain.live.versions()
    assert not any(brain.live.since(held))  # nothing changed
    people = brain.staff.roster()[:3]
    brain.staff.record_fixes([Fix(p.id, p.lon + 0.0005, p.lat, utcnow()) for p in people])
    case = brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    brain.live.refresh()
    deltas = {d.layer: d for d in brain.live.since(held)}
    assert sorted(k for k, _e in deltas["staff"].upsert) == sorted(p.id for p in people)
    assert [k for k, _e in deltas["cases"].upsert] == [case.id] and not deltas["alarms"]
    assert deltas["staff"].base == held["staff"] and not deltas["staff"].reset
    now = brain.live.versions()
    brain.cases.transition(case.id, to="cancelled", note="重复", actor="op", version=case.version)
    brain.live.refresh()
    gone = {d.layer: d for d in brain.live.since(now)}["cases"]
    assert gone.remove == [case.id] and not gone.upsert


def test_a_page_that_holds_no_version_a_forgotten_one_or_another_process_s_is_sent_each_layer_whole(brain):
    brain.live.refresh()
    whole = {d.layer: d for d in brain.live.since(None)}
    assert all(d.reset for d in whole.values())
    assert len(whole["staff"].upsert) == len(brain.staff.roster())
    for bad in ({"staff": 1}, {"staff": brain.live.versions()["staff"] + 10}, {"staff": True}, {"staff": "7"}):
        assert {d.layer: d for d in brain.live.since(bad)}["staff"].reset


def test_a_layer_forgets_old_changes_and_sends_a_page_that_old_the_whole_layer():
    from brain.live import Entry, LiveLayer

    layer = LiveLayer("alarms", keep=3)
    start = layer.version
    for i in range(10):  # alarms raised and cleared: the layer stays small, its changes do not
        layer.put(f"a{i}", Entry(i))
        layer.put(f"a{i}", None)
    layer.put("a10", Entry(10))
    assert layer.since(start).reset and layer.floor > start  # the first changes are forgotten
    recent = layer.since(layer.version - 2)
    assert not recent.reset and [k for k, _e in recent.upsert] == ["a10"] and recent.remove == ["a9"]
    assert not layer.put("a10", Entry(10))  # the same again changes nothing


def test_time_alone_turns_a_case_overdue_at_the_next_sweep(brain, monkeypatch):
    import brain.live as live_module

    case = brain.cases.open_case(channel="wechat", category="C0107", pole="0412", actor="app")
    brain.live.refresh()
    held = brain.live.versions()
    entry = brain.live.layers["cases"].items[case.id]
    assert not entry.phase
    later = entry.view.stage_due_at + timedelta(minutes=1)
    monkeypatch.setattr(brain.live, "_now", lambda: later)
    monkeypatch.setattr(live_module, "SWEEP_S", 0.0)
    brain.live.refresh()
    d = {d.layer: d for d in brain.live.since(held)}["cases"]
    assert case.id in [k for k, e in d.upsert if e.phase]
    assert brain.live.headline()["overdue"] >= 1


def test_a_worker_that_serves_no_pages_follows_nothing_of_the_screens_and_still_raises_alarms(db, district):
    from brain.config import Settings
    from brain.runtime import Brain

    bus = MemoryBus()
    b = Brain(Settings(simulate=False, escalate_after_s=0, monitor_interval_s=0, serves_pages=False),
              district=district, db=db, bus=bus)
    b.start()
    try:
        assert b.alarms.index is None
        assert not any(f.attached for f in (b.freshness, b.changes, b.live))
        assert b.dispatch.attached  # an escalated alarm's case is still auto-dispatched from here
        assert bus._handlers("alarm.raised") == []  # the alarms it fans out, it does not read back
        dev = str(district.devices["id"].iloc[0])
        view, created = b.alarms.raise_alarm(device_id=dev, type=_type_of(b, dev))
        assert created and view.id in {a.id for a in b.alarms.live()}  # read from the database
    finally:
        b.stop()
