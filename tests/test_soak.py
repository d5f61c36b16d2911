"""Freshness and politeness over time (issue 14): `hzwatch run` polls the replica on an accelerated
schedule while new articles appear at random times and one subscription's endpoint is down for a
while (benchmarks/soak.py). A few minutes here; `HZWATCH_FAULTS_LONG=1` runs 30 minutes."""

from __future__ import annotations

import os
import sys

import pytest
from support_data import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from soak import run_soak  # noqa: E402

LONG = os.environ.get("HZWATCH_FAULTS_LONG") == "1"


# the run, then at most two intervals and two minutes of draining (soak.py), then the shutdown
@pytest.mark.timeout(2400 if LONG else 600)
def test_soak_fresh_polite_bounded_memory_no_alert_lost_or_duplicated(tmp_path):
    every = 60.0 if LONG else 20.0
    f = run_soak(minutes=30 if LONG else 2.5, every=every, articles=40 if LONG else 8, workdir=tmp_path)
    why = f"not stored: {f['not_stored']}; service log ends:\n{f['service_log_tail']}"
    assert f["stored"] == f["published"], why
    assert f["relevant"] > 0, "no published article was relevant: nothing to alert"
    for name in ("always", "outage"):
        a = f[f"alerts_{name}"]
        assert a["lost"] == 0 and a["duplicated"] == 0 and a["unexpected"] == 0, (name, a, f["service_log_tail"])
    # p95 publication -> alert within the interval plus a minute (the endpoint that stays up)
    p95 = sorted(f["to_alert_always"])[round(0.95 * (len(f["to_alert_always"]) - 1))]
    assert p95 <= every + 60, f["to_alert_always"]
    q, e = f["service_rss_quarter_kb"], f["service_rss_end_kb"]
    assert q and e and abs(e - q) <= 0.10 * q, (q, e)
    # polite: a handful of requests per poll and site (list pages, most 304), not a re-walk
    polls_per_hour = 3600 / every
    for host, per_hour in f["requests_per_host_hour"].items():
        assert per_hour <= 12 * polls_per_hour, (host, per_hour)
    assert f["service_errors"] == 0
