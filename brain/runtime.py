"""The running brain: settings, database, bus, district, services and simulator, wired once."""

from __future__ import annotations

import logging
import sys
import threading
from datetime import timedelta

from brain.alarms.escalation import Escalator
from brain.alarms.live_index import LiveIndex
from brain.alarms.monitor import DeviceMonitor, Ladder
from brain.alarms.service import AlarmService
from brain.auth.service import AuthService
from brain.cases.catalogue import Catalogue
from brain.cases.service import CaseService
from brain.cases.workflow import TimeLimitPolicy
from brain.config import Settings
from brain.dispatch.service import DispatchService
from brain.district import seed as district_seed
from brain.district.service import PlaceService, device_places
from brain.events.bus import Bus, MemoryBus
from brain.events.kinds import EventType
from brain.events.log import Store
from brain.field.photos import FolderStore
from brain.field.service import FieldService
from brain.flows import Flows
from brain.ingest.forget import HandledMemory
from brain.ingest.mqtt import MqttIngest
from brain.ingest.pipeline import Pipeline
from brain.ingest.queue import IngestQueue
from brain.kpi.facts import FactsProjector
from brain.kpi.indicators import load_targets
from brain.kpi.service import KpiService
from brain.leader import Lease
from brain.live import Changes, Followed, Freshness, LiveProjection, snapshot
from brain.privacy import TextMasker
from brain.replay.service import KeyframeRound, ReplayService, forget_late
from brain.residents.service import ResidentService
from brain.sim.simulator import Simulator
from brain.staff.service import StaffService
from brain.storage.db import Database, utcnow
from geodata.district import District
from geodata.gazetteer import Gazetteer

log = logging.getLogger(__name__)


class SimulatorRefused(RuntimeError):
    """The simulator asked for on a real district's database that holds real cases."""


class Brain:
    """Composition root: build with settings, `start()` to create the schema, seed and simulate."""

    def __init__(self, settings: Settings, *, district: District | None = None, db: Database | None = None,
                 bus: Bus | None = None) -> None:
        self.settings = settings
        self.district = district or District.load(settings.district_dir)
        self.gazetteer = Gazetteer(self.district)
        self._owns_db = db is None
        self.db = db or Database(settings.database_url)
        if bus is None and settings.redis_url:
            from brain.events.redis_bus import RedisBus

            bus = RedisBus(settings.redis_url)  # every worker sees every change
        self.bus: Bus = bus or MemoryBus()
        self.store = Store(self.db, self.bus)
        self.catalogue = Catalogue.load(settings.categories_file) if settings.categories_file else Catalogue.load()
        self.policy = (TimeLimitPolicy.load(settings.time_limits_file) if settings.time_limits_file
                       else TimeLimitPolicy.load())
        self.cases = CaseService(self.store, self.gazetteer, self.catalogue, self.policy)
        self.facts = FactsProjector(self.policy)
        self.store.add_projector(self.facts)
        self.kpi = KpiService(self.db, self.facts, tz=settings.display_tz,
                              targets=load_targets(settings.kpi_targets_file) if settings.kpi_targets_file else None)
        self.staff = StaffService(self.store)
        self.alarms = AlarmService(self.store)
        self.auth = AuthService(self.store)
        self.places = PlaceService(self.store)
        self.device_places = device_places(self.district)  # where each device is, as the wall may say it
        self.dispatch = DispatchService(cases=self.cases, staff=self.staff, catalogue=self.catalogue,
                                        district=self.district)
        photos = FolderStore(settings.photo_dir)
        self.field = FieldService(self.store, self.cases, photos, unread_after_min=settings.unread_after_min)
        self.residents = ResidentService(self.store, self.cases, photos)  # the public page and Open311
        # the replay: state at any instant from the log; an event logged late forgets the keyframes it changes
        self.replay = ReplayService(self.store, self.staff, self.policy, mask=self.cases.mask_payload)
        self.store.add_projector(forget_late)
        self.keyframes = KeyframeRound(self.replay)
        # the cross-domain steps: a case move's and an assignment's other changes, the phone's actions
        self.flows = Flows(cases=self.cases, staff=self.staff, field=self.field, gazetteer=self.gazetteer,
                           dispatch=self.dispatch, arrive_radius_m=settings.arrive_radius_m)
        self.monitor = DeviceMonitor(self.store, self.alarms, self.cases,
                                     ladder=Ladder(settings.welfare_hours, settings.welfare_call_min,
                                                   settings.welfare_visit_min),
                                     interval_s=float(settings.monitor_interval_s or 30))
        self.ingest = Pipeline(self.db, self.alarms, self.staff, self.gazetteer, self.monitor)
        self.forget = HandledMemory(self.db)  # message ids past any redelivery, hourly, with the monitor
        self.freshness = Freshness()
        self.changes = Changes()
        # what the screens' live updates read, kept from the bus between changes
        self.live = LiveProjection(cases=lambda: self.cases.open_cases(limit=1_000_000), case_views=self.cases.views,
                                   alarms=self.alarms.live, staff=self.staff.roster)
        self.live_rejected = Followed(lambda: int(self.ingest.stats()["rejected_total_last_24h"] or 0),
                                      max_age_s=5.0)  # a 24-hour count on the wall's status line
        # the wall's counters of tasks not read in time and of urgent cases nobody could be sent to
        self.live_unread = Followed(lambda: len(self.field.unread()), max_age_s=2.0)
        self.live_stranded = Followed(lambda: len(self.dispatch.stranded()), max_age_s=2.0)
        self.escalator = Escalator(self.store, self.cases, after=timedelta(seconds=settings.escalate_after_s))
        self.mqtt: MqttIngest | None = None
        self.queue: IngestQueue | None = None
        self.simulator: Simulator | None = None
        self.lease: Lease | None = None
        self._roles = threading.Lock()  # the leader's parts start and stop one at a time
        self.started_at = utcnow()
        self.invented = self.demo  # invented work in the database: every screen says so (set again at start)
        self._lock = threading.Lock()

    def start(self) -> Brain:
        """Create or migrate the schema, seed the district if the database is empty, start the simulator."""
        with self._lock:
            self.db.create_schema()
            if district_seed.seed(self.db, self.district):
                log.info("district seeded: %d poles, %d staff", len(self.district.poles), len(self.district.staff))
            # free text a call-taker typed is masked for the wall by these names too
            self.cases.masker = TextMasker(self.places.resident_names())
            replayed = self.kpi.ensure_facts()
            if replayed:
                log.info("KPI facts rebuilt from the event log: %d cases", replayed)
            self.dispatch.load()
            self.dispatch.attach(self.bus)
            if self.settings.serves_pages:  # an ingest worker's bus carries every change to no screen
                self.alarms.index = LiveIndex(self.alarms.live_from_db)
                self.alarms.index.attach(self.bus)
                # the projection marks a change before the pages are woken for it (handlers run in this order)
                for followed in (self.freshness, self.live, self.changes):
                    followed.attach(self.bus)
                self.freshness.seed(snapshot(self))
            if self.settings.escalate_after_s > 0:
                self.escalator.start()
            if self.settings.monitor_interval_s > 0:  # the background rounds (off where a test drives them)
                self.monitor.start()
                self.forget.start()
                if self.settings.serves_pages:
                    self.keyframes.start()  # the replay's keyframes, built ahead of the seeks that need them
            if self.settings.redis_url and self.queue is None:
                # the durable queue: MQTT hands messages over, this worker (and any other) handles them
                self.queue = IngestQueue(self.settings.redis_url, self.ingest)
                if self.settings.ingest_in_app:
                    self.queue.start()
                if not self.queue.durable():
                    log.warning("Redis at REDIS_URL keeps nothing on disk (appendonly no): messages queued but "
                                "not yet handled would be lost if it restarted; run it with --appendonly yes")
            one_time = self.auth.ensure_admin(self.settings.admin_password)
            if one_time:
                # shown once, here only; it is stored as an argon2 hash and cannot be recovered
                print(f"\n  First start: account 'admin' created with the one-time password  {one_time}\n"
                      "  Sign in at /login and change it: python -m brain.auth set-password --username admin\n",
                      file=sys.stderr, flush=True)
            self.invented = self._holds_invented()
            if self.settings.redis_url and (self.settings.mqtt_url or self.simulates) and self.lease is None:
                # several workers share one Redis: the MQTT consumer and the simulator run in one of them
                self.lease = Lease(self.settings.redis_url, f"brain:{self._division}:leader",
                                   ttl_s=self.settings.leader_ttl_s, on_gain=self._lead,
                                   on_loss=self._follow).start()
                self.lease.wait_idle(timeout=600)  # the first worker leads from its start
            else:
                self._lead()
        return self

    @property
    def demo(self) -> bool:
        """Whether the district is the generated demonstration district."""
        return bool(self.district.meta.get("demo"))

    @property
    def simulates(self) -> bool:
        """Whether the simulator runs: as BRAIN_SIMULATE says, else for the demo district only."""
        return self.demo if self.settings.simulate is None else bool(self.settings.simulate)

    def _holds_invented(self) -> bool:
        """Whether invented work is (or is about to be) in the database: the demo, the simulator's cases."""
        return self.demo or self.simulates or self._cases_opened(by_simulator=True)

    def _holds_real_cases(self) -> bool:
        return self._cases_opened(by_simulator=False)

    def _cases_opened(self, *, by_simulator: bool) -> bool:
        """Whether the log holds a case opened by the simulator (an actor sim:...), or by anyone else."""
        from sqlalchemy import select

        from brain.events.models import EventRecord

        by = EventRecord.actor.like("sim:%") if by_simulator else EventRecord.actor.not_like("sim:%")
        with self.db.read() as s:
            return s.scalar(select(EventRecord.seq).where(EventRecord.type == EventType.CASE_OPENED.value, by)
                            .limit(1)) is not None

    @property
    def _division(self) -> str:
        return str(self.district.meta.get("division_code", "district"))

    def _lead(self) -> None:
        """This worker runs the parts that must run once: the MQTT consumer and the simulator."""
        with self._roles:
            if self.settings.mqtt_url and self.mqtt is None:
                self.mqtt = MqttIngest(self.settings.mqtt_url, self.ingest, division=self._division,
                                       ca_file=self.settings.mqtt_ca_file,
                                       client_id=self.settings.mqtt_client_id, queue=self.queue).start()
            if self.simulates and self.simulator is None:
                if not self.demo and self._holds_real_cases():
                    # invented cases would be counted with the real ones on every screen and report
                    raise SimulatorRefused("this district's database holds real cases: the simulator would mix "
                                           "invented work into them; start without it (BRAIN_SIMULATE=0)")
                simulator = Simulator(district=self.district, cases=self.cases, staff=self.staff,
                                      alarms=self.alarms, speed=self.settings.sim_speed,
                                      seed=self.settings.sim_seed, dispatch=self.dispatch,
                                      monitor=self.monitor, people=self.auth.field_staff)
                if not self.cases.open_cases(limit=1):
                    self._write_history()
                    simulator.backfill()
                simulator.load_state()
                simulator.start()
                # published only once it runs: health and the tests read it without the lock
                self.simulator = simulator

    def _follow(self) -> None:
        """Another worker leads now (or this one stops): stop what only the leader runs."""
        with self._roles:
            if self.mqtt:
                self.mqtt.stop()
                self.mqtt = None
            if self.simulator:
                self.simulator.stop()
                self.simulator = None

    def _write_history(self) -> None:
        """A first start of the demo: a month of finished cases before the live ones, for the KPI screens."""
        days = self.settings.sim_history_days
        if days <= 0:
            return
        from brain.sim.history import HistoryGenerator, write

        now = utcnow()
        gen = HistoryGenerator(self.district, self.catalogue, self.policy, seed=self.settings.sim_seed or 7)
        # up to six hours ago: the live backfill covers the last six hours
        until = now - timedelta(hours=6)
        # finished by then: the live cases on the wall are the simulator's own, which it moves on
        cases, events = write(self.db, gen, start=now - timedelta(days=days), end=until, now=now, finish_by=until)
        log.info("demo history written: %d cases, %d events over %d days", cases, events, days)

    def stop(self) -> None:
        self.escalator.stop()
        self.keyframes.stop()
        self.monitor.stop()
        self.forget.stop()
        self.freshness.detach()
        self.changes.detach()
        self.live.detach()
        if self.alarms.index is not None:
            self.alarms.index.detach()
            self.alarms.index = None
        if self.lease:
            self.lease.stop()  # gives the lease up: a standby worker takes over at once
            self.lease = None
        self._follow()
        if self.queue:
            self.queue.stop()
            self.queue = None
        self.dispatch.detach()
        self.bus.close()
        if self._owns_db:  # a database handed in belongs to whoever made it
            self.db.dispose()

    def ingest_stalls(self) -> list[str]:
        """Why ingest may not be hearing the district's devices: messages left unacknowledged at the broker,
        the MQTT consumer disconnected, the queue stalled (see IngestQueue.stalls), dead letters in the
        last hour. Empty when it is hearing them."""
        reasons = []
        mqtt = self.mqtt
        if mqtt is not None:
            if mqtt.unacknowledged:
                reasons.append("mqtt_unacknowledged")
            if not mqtt.connected.is_set():
                reasons.append("mqtt_disconnected")
        if self.queue is not None:
            reasons += self.queue.stalls(in_process=self.settings.ingest_in_app)
        if self.ingest.dead_letters(utcnow() - timedelta(hours=1)):
            reasons.append("dead_letters")
        return reasons

    def health(self) -> dict:
        db = self.db.health()
        bus = self.bus.health()
        reasons = [name for name, part in (("database", db), ("bus", bus)) if not part.get("ok")]
        if db.get("ok"):
            reasons += self.ingest_stalls()
        return {"status": "degraded" if reasons else "ok", "reasons": reasons, "database": db, "bus": bus,
                "leader": self.lease.health() if self.lease else {"leading": True, "name": None},
                "simulator": {"running": bool(self.simulator and self.simulator.running),
                              "speed": self.settings.sim_speed if self.simulator else None},
                "district": {"name": self.district.meta.get("name"), "poles": len(self.gazetteer),
                             "demo": self.demo, "invented": self.invented},
                "ingest": {**self.ingest.stats(), "mqtt": self.mqtt.health() if self.mqtt else None,
                           "queue": self.queue.health() if self.queue else None},
                "started_at": self.started_at.isoformat()}
