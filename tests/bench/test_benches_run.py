"""Every benchmark of the live path runs, at a small size, and checks its own answers: run in CI so that a
change to the product cannot leave a benchmark broken until someone next measures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SMALL = {
    "live_tick": ["--small", "30", "--large", "90", "--moved", "3", "--ticks", "4", "--old", "none"],
    "live_latency": ["--events", "6", "--gap", "0.2"],
    "first_visit": ["--runs", "1", "--old", "none"],
    "map_scale": ["--tiles", "2", "--seconds", "1"],
    "map_live": ["--tiles", "2", "--staff", "300", "--alarms", "200", "--seconds", "1", "--rounds", "1"],
    "cold_start": ["--runs", "1"],
    "alarm_storm": ["--alarms", "200", "--devices", "40", "--seconds", "2", "--db", "sqlite"],
    "field_push": ["--tasks", "3"],
    "field_first_load": ["--runs", "1"],
    "resident_first_load": ["--runs", "1"],
    "open311_requests": ["--db", "sqlite", "--cases", "500", "--queries", "10"],
    "replay_seek": ["--db", "both", "--days", "0.1", "--seeks", "5"],
    "replay_play": ["--warm", "3", "--seconds", "3"],
    "dispatch": ["--staff", "2000", "--tiles", "2", "--seconds", "1", "--queries-per-second", "10"],
}


@pytest.mark.e2e
@pytest.mark.parametrize("bench", sorted(SMALL))
def test_the_benchmark_runs_small_and_its_answers_hold(bench):
    env = {k: v for k, v in os.environ.items() if k != "BRAIN_REQUIRE_SERVICES"}
    r = subprocess.run([sys.executable, "-m", f"bench.{bench}", *SMALL[bench]], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    assert r.stdout.strip(), "the benchmark printed no figures"
