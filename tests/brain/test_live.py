"""The live picture: headline counters, the takeover alarm and how fresh each feed is."""

from datetime import timedelta

from brain.live import FEED_SILENCE_S, Freshness, snapshot
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
