"""The leader lease on a real Redis (REDIS_URL): one worker runs the MQTT consumer and the simulator, a
standby takes over when the leader stops or dies, and a leader whose lease was taken steps down."""

import threading
import time
import uuid

import pytest
import redis

from brain.config import Settings
from brain.leader import Lease
from brain.runtime import Brain
from tests.conftest import service_url, wait_until


class Role:
    """Counts how often a worker took over and stepped down."""

    def __init__(self):
        self.running = False
        self.starts = self.stops = 0
        self.lock = threading.Lock()

    def gain(self):
        with self.lock:
            self.running, self.starts = True, self.starts + 1

    def loss(self):
        with self.lock:
            self.running, self.stops = False, self.stops + 1


@pytest.fixture
def lease_name():
    name = f"test:leader:{uuid.uuid4().hex[:8]}"
    yield name
    redis.Redis.from_url(service_url("REDIS_URL")).delete(name)


def _lease(name, role, ttl_s=0.6):
    return Lease(service_url("REDIS_URL"), name, ttl_s=ttl_s, on_gain=role.gain, on_loss=role.loss).start()


def test_exactly_one_of_several_workers_leads(lease_name):
    roles = [Role() for _ in range(4)]
    leases = [_lease(lease_name, r) for r in roles]
    try:
        for lease in leases:
            lease.wait_idle()
        assert [lease.leading for lease in leases].count(True) == 1
        assert [r.running for r in roles].count(True) == 1
        time.sleep(1.5)  # several renewals later nothing has changed hands
        assert [r.starts for r in roles] == [1 if lease.leading else 0 for lease in leases]
        leader = next(lease for lease in leases if lease.leading)
        assert leader.holder() == leader.token
    finally:
        for lease in leases:
            lease.stop()


def test_a_leader_that_stops_hands_over_at_once(lease_name):
    a, b = Role(), Role()
    first = _lease(lease_name, a, ttl_s=5.0)
    second = _lease(lease_name, b, ttl_s=5.0)
    try:
        assert first.wait_idle() and a.running and not b.running
        started = time.monotonic()
        first.stop()  # releases the lease: the standby need not wait for it to lapse
        assert (a.running, a.stops) == (False, 1)
        assert wait_until(lambda: b.running, timeout=5)
        assert time.monotonic() - started < 3.0  # its next attempt (every third of 5 s), not the 5 s lapse
    finally:
        second.stop()


def test_a_dead_leaders_lease_lapses_and_a_standby_takes_over(lease_name):
    a, b = Role(), Role()
    first = _lease(lease_name, a)
    second = _lease(lease_name, b)
    try:
        first.wait_idle()
        assert first.leading and not second.leading
        first._stop.set()  # the leader hangs: it neither renews nor releases
        assert wait_until(lambda: b.running, timeout=5)
        assert second.holder() == second.token
    finally:
        first.stop(release=False)
        second.stop()


def test_a_leader_whose_lease_another_took_steps_down(lease_name):
    a = Role()
    lease = _lease(lease_name, a)
    try:
        lease.wait_idle()
        assert a.running
        redis.Redis.from_url(service_url("REDIS_URL")).set(lease_name, "another-worker", px=60_000)
        assert wait_until(lambda: not a.running, timeout=5)
        assert (lease.leading, a.stops, lease.lost) == (False, 1, 1)
    finally:
        lease.stop()


def test_a_leader_takes_its_lease_back_when_redis_forgot_it(lease_name):
    a = Role()
    lease = _lease(lease_name, a)
    r = redis.Redis.from_url(service_url("REDIS_URL"))
    try:
        lease.wait_idle()
        r.delete(lease_name)  # Redis restarted without persistence
        assert wait_until(lambda: r.get(lease_name) == lease.token.encode(), timeout=5)
        assert (lease.leading, a.starts, a.stops) == (True, 1, 0)  # never stepped down meanwhile
    finally:
        lease.stop()


def test_a_leader_keeps_leading_while_redis_is_unreachable(own_redis):
    a = Role()
    lease = Lease(own_redis.url, "brain:test:leader", ttl_s=0.6, on_gain=a.gain, on_loss=a.loss).start()
    try:
        lease.wait_idle()
        own_redis.kill()  # nobody can take the lease while Redis is away
        assert wait_until(lambda: lease.unreachable >= 2, timeout=10)
        assert lease.leading and a.running and a.stops == 0
        own_redis.start()
        assert wait_until(lambda: lease.holder() == lease.token, timeout=10)
        assert (lease.leading, a.starts, a.stops) == (True, 1, 0)
    finally:
        lease.stop()


def test_only_the_leading_brain_runs_the_mqtt_consumer_and_the_simulator(tmp_path, district):
    url = service_url("REDIS_URL")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'brain.sqlite3'}", redis_url=url,
                        mqtt_url=service_url("MQTT_URL"), mqtt_client_id=f"test-leader-{uuid.uuid4().hex[:8]}",
                        simulate=True, sim_history_days=0, escalate_after_s=0, monitor_interval_s=0,
                        leader_ttl_s=1.0)
    name = f"brain:{district.meta['division_code']}:leader"
    redis.Redis.from_url(url).delete(name)
    first = Brain(settings, district=district).start()
    second = Brain(settings, district=district).start()
    stopped = []
    try:
        assert first.lease is not None and first.lease.leading
        assert first.simulator is not None and first.simulator.running
        assert first.mqtt is not None and first.mqtt.connected.is_set()
        assert (second.simulator, second.mqtt) == (None, None)
        assert second.health()["leader"]["holder"] == first.lease.token
        first.stop()
        stopped.append(first)
        assert (first.simulator, first.mqtt) == (None, None)
        assert wait_until(lambda: second.simulator is not None and second.mqtt is not None, timeout=10)
        assert second.simulator.running
        assert wait_until(lambda: second.mqtt.connected.is_set(), timeout=10)
        assert second.health()["leader"]["leading"] is True
    finally:
        for brain in (first, second):
            if brain not in stopped:
                brain.stop()
