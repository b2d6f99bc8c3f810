"""Settings from the environment, with embedded defaults that run on one machine with nothing else."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from geodata.crs import DEFAULT_METRIC_EPSG
from geodata.district import DEMO_DIR


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment; `from_env()` builds it, tests build it directly."""

    database_url: str = "sqlite:///var/brain.sqlite3"
    redis_url: str | None = None
    mqtt_url: str | None = None
    mqtt_ca_file: str | None = None  # with mqtts://: the authority that signed the broker's certificate
    mqtt_client_id: str = "community-brain-ingest"  # one per ingest worker: the broker keeps its session
    ingest_in_app: bool = True  # with REDIS_URL: this process also handles the queue (off: python -m brain.ingest does)
    serves_pages: bool = True  # off (python -m brain.ingest): what only the screens read is not kept from the bus
    leader_ttl_s: float = 10.0  # with REDIS_URL: a dead leader's MQTT consumer and simulator move on after this
    district_dir: Path = DEMO_DIR
    metric_epsg: int = DEFAULT_METRIC_EPSG
    simulate: bool | None = None  # None: on for the demo district only (a real one is never filled with invented work)
    sim_speed: float = 1.0
    sim_seed: int | None = None
    sim_history_days: int = 30  # days of finished cases written on a first start with the simulator on
    escalate_after_s: int = 180  # a critical alarm unacknowledged this long opens an urgent case; 0: never
    monitor_interval_s: int = 30  # how often silent devices and quiet homes are looked for; 0: not in this process
    welfare_hours: float = 12.0  # a home of an elderly resident living alone with no sign of life this long: alarm
    welfare_call_min: float = 15.0  # rung 1 (call the resident) climbs to a visit after this long
    welfare_visit_min: float = 60.0  # rung 2 (a care worker visits) climbs to an emergency after this long
    host: str = "127.0.0.1"
    port: int = 8050
    display_tz: str = "Asia/Shanghai"
    default_locale: str = "zh-CN"
    require_services: bool = False
    categories_file: Path | None = None  # an edited copy of brain/cases/categories.json
    time_limits_file: Path | None = None  # an edited copy of brain/cases/time_limits.json
    kpi_targets_file: Path | None = None  # an edited copy of brain/kpi/targets.json (green and amber per indicator)
    admin_password: str | None = None  # first start only; otherwise a one-time password is printed
    secure_cookies: bool = False  # set behind HTTPS
    # addresses of the reverse proxies whose X-Forwarded-For is believed (comma-separated, as uvicorn's
    # forwarded_allow_ips); none by default: a client's own header never names its address
    trusted_proxies: str = ""
    live_push: bool = True  # screens are told of changes over a WebSocket; off: they poll every live_poll_ms
    live_poll_ms: int = 2000
    photo_dir: Path = Path("var/photos")  # field photos, by content hash (whole files only)
    arrive_radius_m: float = 50.0  # arrival is recorded this close to the case, farther only with a reason
    unread_after_min: float = 5.0  # a task not opened on the phone this long is flagged to the dispatcher
    hotline: str = "12345"  # the number residents call, on the residents' page and the pole plates
    public_base_url: str = "http://127.0.0.1:8050"  # where residents reach /r/ (the QR codes on the plates)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Read BRAIN_* and the service URLs (DATABASE_URL, REDIS_URL, MQTT_URL) from the environment."""
        e = os.environ if env is None else env
        return cls(
            database_url=e.get("BRAIN_DATABASE_URL") or e.get("DATABASE_URL") or cls.database_url,
            redis_url=e.get("REDIS_URL") or None,
            mqtt_url=e.get("MQTT_URL") or None,
            mqtt_client_id=e.get("BRAIN_MQTT_CLIENT_ID") or cls.mqtt_client_id,
            mqtt_ca_file=e.get("BRAIN_MQTT_CA") or None,
            ingest_in_app=_flag(e.get("BRAIN_INGEST_IN_APP"), True),
            leader_ttl_s=float(e.get("BRAIN_LEADER_TTL_S") or cls.leader_ttl_s),
            district_dir=Path(e.get("BRAIN_DISTRICT_DIR") or DEMO_DIR),
            metric_epsg=int(e.get("BRAIN_METRIC_EPSG") or DEFAULT_METRIC_EPSG),
            simulate=None if not e.get("BRAIN_SIMULATE") else _flag(e.get("BRAIN_SIMULATE"), False),
            sim_speed=float(e.get("BRAIN_SIM_SPEED") or 1.0),
            sim_history_days=int(e.get("BRAIN_SIM_HISTORY_DAYS") or 30),
            escalate_after_s=int(e.get("BRAIN_ESCALATE_AFTER_S") or 180),
            monitor_interval_s=int(e.get("BRAIN_MONITOR_INTERVAL_S") or 30),
            welfare_hours=float(e.get("BRAIN_WELFARE_HOURS") or 12.0),
            welfare_call_min=float(e.get("BRAIN_WELFARE_CALL_MIN") or 15.0),
            welfare_visit_min=float(e.get("BRAIN_WELFARE_VISIT_MIN") or 60.0),
            host=e.get("BRAIN_HOST") or cls.host,
            port=int(e.get("BRAIN_PORT") or cls.port),
            require_services=_flag(e.get("BRAIN_REQUIRE_SERVICES"), False),
            admin_password=e.get("BRAIN_ADMIN_PASSWORD") or None,
            categories_file=Path(e["BRAIN_CATEGORIES"]) if e.get("BRAIN_CATEGORIES") else None,
            time_limits_file=Path(e["BRAIN_TIME_LIMITS"]) if e.get("BRAIN_TIME_LIMITS") else None,
            kpi_targets_file=Path(e["BRAIN_KPI_TARGETS"]) if e.get("BRAIN_KPI_TARGETS") else None,
            secure_cookies=_flag(e.get("BRAIN_SECURE_COOKIES"), False),
            trusted_proxies=(e.get("BRAIN_TRUSTED_PROXIES") or "").strip(),
            live_push=_flag(e.get("BRAIN_LIVE_PUSH"), True),
            live_poll_ms=int(e.get("BRAIN_LIVE_POLL_MS") or 2000),
            photo_dir=Path(e.get("BRAIN_PHOTO_DIR") or cls.photo_dir),
            arrive_radius_m=float(e.get("BRAIN_ARRIVE_RADIUS_M") or cls.arrive_radius_m),
            unread_after_min=float(e.get("BRAIN_UNREAD_AFTER_MIN") or cls.unread_after_min),
            hotline=e.get("BRAIN_HOTLINE") or cls.hotline,
            public_base_url=(e.get("BRAIN_PUBLIC_BASE_URL") or cls.public_base_url).rstrip("/"),
        )

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)
