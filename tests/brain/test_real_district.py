"""A real district is never filled with invented work: the simulator is off by default for any district but
the demo, refused where real cases are, and the screens say "demo data" while invented work is present."""

from __future__ import annotations

import dataclasses

import pytest

from brain.config import Settings
from brain.runtime import Brain, SimulatorRefused


def _real(district):
    return dataclasses.replace(district, meta={**district.meta, "demo": False, "name": "某街道"})


def test_the_simulator_runs_by_default_for_the_demo_only():
    assert Settings.from_env({}).simulate is None
    assert Settings.from_env({"BRAIN_SIMULATE": "1"}).simulate is True
    assert Settings.from_env({"BRAIN_SIMULATE": "0"}).simulate is False


def test_an_imported_district_starts_without_invented_work_and_without_the_demo_badge(db, district, tmp_path):
    brain = Brain(Settings(sim_history_days=0, escalate_after_s=0, monitor_interval_s=0, photo_dir=tmp_path / "p"),
                  district=_real(district), db=db)
    assert brain.simulates is False
    brain.start()
    try:
        assert brain.simulator is None and brain.invented is False
        assert brain.cases.open_cases(limit=1) == []
        from dashboard.app import _header
        from dashboard.i18n import translator

        assert "演示数据" not in repr(_header(brain, "/wall", "zh-CN", translator("zh-CN")))
    finally:
        brain.stop()


def test_the_simulator_is_refused_on_a_real_district_that_holds_real_cases(db, district, tmp_path):
    settings = Settings(simulate=True, sim_history_days=0, escalate_after_s=0, monitor_interval_s=0,
                        photo_dir=tmp_path / "p")
    first = Brain(settings.with_(simulate=False), district=_real(district), db=db)
    first.start()
    first.cases.open_case(channel="hotline_12345", category="C0107", pole="0412", actor="hotline")
    first.stop()
    brain = Brain(settings, district=_real(district), db=db)
    with pytest.raises(SimulatorRefused, match="holds real cases"):
        brain.start()
    brain.stop()
