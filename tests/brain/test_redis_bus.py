"""The bus across workers on a real Redis (REDIS_URL): an event published by one reaches the others."""

import json
import time
import uuid

import pytest
import redis

from brain.events.redis_bus import RedisBus
from brain.events.types import Event
from tests.conftest import service_url, wait_until


@pytest.fixture
def channel():
    return f"test:events:{uuid.uuid4().hex[:8]}"


def test_an_event_published_by_one_worker_reaches_every_worker(channel):
    url = service_url("REDIS_URL")
    a, b = RedisBus(url, channel=channel), RedisBus(url, channel=channel)
    try:
        seen_a, seen_b = [], []
        a.subscribe("case.*", seen_a.append)
        b.subscribe("case.*", seen_b.append)
        b.subscribe("alarm.*", lambda e: 1 / 0)  # a failing handler breaks nothing
        ev = Event(type="case.opened", subject_type="case", subject_id="7", actor="t", payload={"x": "居委会"})
        a.publish(ev)
        a.publish(Event(type="alarm.raised", subject_type="alarm", subject_id="1", actor="t"))
        assert wait_until(lambda: len(seen_a) == 1 and len(seen_b) == 1)
        assert seen_b[0] == ev and seen_a[0].payload == {"x": "居委会"}
        assert wait_until(lambda: b.handler_errors == 1)
        assert a.health()["ok"] and b.health()["received"] == 2
    finally:
        a.close()
        b.close()


def test_without_redis_the_event_still_reaches_this_workers_subscribers(channel):
    bus = RedisBus("redis://127.0.0.1:1/0", channel=channel)  # nothing listens there
    try:
        seen = []
        bus.subscribe("*", seen.append)
        bus.publish(Event(type="case.opened", subject_type="case", subject_id="1", actor="t"))
        assert len(seen) == 1 and bus.fanout_errors == 1 and bus.health()["ok"] is False
    finally:
        bus.close()


def test_a_units_many_events_reach_every_worker_in_order_in_few_messages(channel):
    from brain.events import redis_bus

    url = service_url("REDIS_URL")
    a, b = RedisBus(url, channel=channel), RedisBus(url, channel=channel)
    raw = redis.Redis.from_url(url).pubsub(ignore_subscribe_messages=True)
    raw.subscribe(channel)
    try:
        seen = []
        b.subscribe("alarm.*", seen.append)
        events = [Event(type="alarm.raised", subject_type="alarm", subject_id=str(i), actor="t") for i in range(1200)]
        a.publish_many(events)
        assert wait_until(lambda: len(seen) == 1200)
        assert [e.id for e in seen] == [e.id for e in events]
        messages, quiet_until = [], time.monotonic() + 1.0
        while time.monotonic() < quiet_until:  # (the subscription's own confirmation reads as None)
            m = raw.get_message(timeout=0.1)
            if m is not None:
                messages.append(m)
        assert len(messages) == -(-1200 // redis_bus.PER_MESSAGE)  # 3 messages, not 1,200
        # a message with an unreadable event among readable ones: the readable ones are delivered
        good = Event(type="alarm.cleared", subject_type="alarm", subject_id="9", actor="t")
        redis.Redis.from_url(url).publish(channel, json.dumps([{"type": "alarm.x"}, good.as_dict()]))
        redis.Redis.from_url(url).publish(channel, b"{not json")
        assert wait_until(lambda: len(seen) == 1201) and seen[-1] == good
    finally:
        raw.close()
        a.close()
        b.close()


def test_a_worker_reads_no_further_the_events_of_types_nobody_in_it_follows(channel, caplog):
    url = service_url("REDIS_URL")
    bus = RedisBus(url, channel=channel)
    try:
        seen = []
        bus.subscribe("case.*", seen.append)
        case = Event(type="case.opened", subject_type="case", subject_id="3", actor="t")
        # an alarm event that could not even be read: nobody here follows alarms, so it is not looked into
        redis.Redis.from_url(url).publish(channel, json.dumps([{"type": "alarm.raised"}, case.as_dict()]))
        assert wait_until(lambda: len(seen) == 1) and seen[0] == case
        assert bus.health()["received"] == 2
        assert "unreadable" not in caplog.text
        redis.Redis.from_url(url).publish(channel, json.dumps([{"type": "case.closed"}]))  # followed: read
        assert wait_until(lambda: "unreadable event" in caplog.text)
    finally:
        bus.close()
