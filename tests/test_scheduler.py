"""The service (`hzwatch run`): schedules, catch-up, crawl supervision, kills and restarts, full cycle."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import db as database
from db import alerts as store
from monitor.scheduler import (RunOptions, Service, SourceSchedule, first_run_time, misfire_grace,
                               pid_alive, schedules, trigger_for)
from monitor.subscriptions import load_subscriptions
from support_servers import WebhookReceiver, free_port, webhook  # noqa: F401 (fixture)
from test_alerts import seed

REPO = Path(__file__).resolve().parents[1]
TZ = ZoneInfo("Asia/Shanghai")
HZ = [sys.executable, "-m", "monitor.cli"]


# -- schedules (pure) ---------------------------------------------------------------------

def _opts(**kw) -> RunOptions:
    return RunOptions(db_path="x.db", subscriptions=load_subscriptions(None), **kw)


def test_sources_yaml_schedules_and_test_flags():
    from scrapers.sources import load_sources

    real = schedules(load_sources(), _opts())
    assert real and all(s.interval_seconds or s.cron for s in real)
    assert any(s.cron for s in real) and any(s.interval_seconds for s in real)
    fast = schedules(load_sources(), _opts(every=2, only_sources=(real[0].id,)))
    assert [(s.id, s.interval_seconds, s.cron) for s in fast] == [(real[0].id, 2.0, None)]
    scaled = schedules([{"id": "a", "interval": 60}, {"id": "b", "interval": "90s"}], _opts(interval_scale=0.5))
    assert [s.interval_seconds for s in scaled] == [1800.0, 45.0]
    with pytest.raises(Exception, match="unknown source"):
        schedules(load_sources(), _opts(only_sources=("nope",)))


def test_catch_up_runs_an_overdue_source_once_and_waits_for_the_others():
    now = dt.datetime(2024, 6, 3, 12, 0, tzinfo=TZ)
    every_hour = SourceSchedule("a", "A", interval_seconds=3600)
    assert first_run_time(every_hour, None, now) == now                                  # never ran
    assert first_run_time(every_hour, now - dt.timedelta(hours=5), now) == now           # missed 5: once
    assert first_run_time(every_hour, now - dt.timedelta(minutes=20), now) == now + dt.timedelta(minutes=40)
    morning = SourceSchedule("p", "P", cron="30 6-12 * * *")
    assert first_run_time(morning, now - dt.timedelta(hours=2), now) == now              # 10:30 and 11:30 missed
    last = dt.datetime(2024, 6, 3, 11, 31, tzinfo=TZ)
    assert first_run_time(morning, last, now) == dt.datetime(2024, 6, 3, 12, 30, tzinfo=TZ)
    # A job late by less than half its interval still runs (APScheduler's default grace is 1 s).
    assert misfire_grace(every_hour) == 1800 and misfire_grace(morning) == 600
    assert trigger_for(every_hour).jitter == 300 and trigger_for(SourceSchedule("f", "F", 2)).jitter == 0.2


def test_stale_running_runs_of_dead_processes_are_marked_killed(tmp_path):
    db = database.connect(tmp_path / "hzwatch.db")
    dead = subprocess.Popen(["true"])
    dead.wait()
    db["runs"].insert_all([
        {"source_id": "hznews", "started": "2024-06-03T01:00:00+00:00", "status": "running", "pid": dead.pid},
        {"source_id": "gov-www", "started": "2024-06-03T01:00:00+00:00", "status": "running", "pid": os.getpid()},
        {"source_id": "hzrb", "started": "2024-06-03T00:00:00+00:00", "status": "ok", "pid": dead.pid},
    ])
    Service(RunOptions(db_path=str(tmp_path / "hzwatch.db"), subscriptions=load_subscriptions(None),
                       crawl=False)).prepare()
    rows = {r["source_id"]: r for r in db.query("SELECT * FROM runs")}
    assert rows["hznews"]["status"] == "killed" and rows["hznews"]["ended"]
    assert rows["gov-www"]["status"] == "running", "a live process that is not a crawl is left alone"
    assert rows["hzrb"]["status"] == "ok"


# -- the service as a process ---------------------------------------------------------------

def hz(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    """Start `hzwatch ARGS` as a real process (the service under test)."""
    return subprocess.Popen([*HZ, *args], cwd=REPO, env={**os.environ, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> tuple[int, str]:
    if proc.poll() is None:
        proc.send_signal(sig)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def wait_until(cond, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read().decode("utf-8"))


def subs_file(tmp_path, body: str, lease: float = 2) -> str:
    path = tmp_path / "subs.yaml"
    path.write_text(f"delivery:\n  lease_seconds: {lease}\n  backoff_base_seconds: 0.5\n"
                    f"  backoff_max_seconds: 1\nsubscriptions:\n{body}", encoding="utf-8")
    return str(path)


def test_sigkill_during_dispatch_then_restart_delivers_each_alert_once(tmp_path, webhook):
    db_path = tmp_path / "hzwatch.db"
    db = seed(db_path)
    subs = subs_file(tmp_path, "  - {name: hook, urls_env: [T_HOOK], backfill: true}\n")
    env = {"T_HOOK": webhook.apprise_url(), "HZWATCH_PUBLIC_URL": "http://hz.test"}
    webhook.hold_requests()                   # the endpoint takes the request and never answers
    proc = hz("run", "--db", str(db_path), "--subscriptions", subs, "--no-crawl", "--no-serve",
              "--dispatch-every", "0.5", env=env)
    try:
        assert webhook.request_arrived.wait(30), "dispatch never reached the webhook"
        proc.kill()                           # SIGKILL mid-request: no chance to record anything
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    statuses = [r["status"] for r in store.list_outbox(db)]
    assert "sending" in statuses and "sent" not in statuses
    webhook.release()                         # the held request is answered 503 to a dead client
    assert webhook.messages() == []
    port = free_port()
    proc = hz("run", "--db", str(db_path), "--subscriptions", subs, "--no-crawl", "--port", str(port),
              "--dispatch-every", "0.5", env=env)
    try:
        got = webhook.wait_for(2, timeout=30)
        time.sleep(1.5)                       # more cycles: nothing further may arrive
        got = webhook.messages()
        assert len(got) == 2, [m["title"] for m in got]
        assert len({m["message"].splitlines()[-2] for m in got}) == 2, "each story exactly once"
        rows = wait_until(lambda: get_json(f"http://127.0.0.1:{port}/hzwatch/outbox.json?_shape=array"),
                          30, "Datasette outbox JSON", step=0.5)
        assert sorted((r["story_id"], r["status"]) for r in rows) == [(1, "sent"), (2, "sent")]
    finally:
        rc, out = stop(proc)
    assert rc == 0, out
    assert "stopped" in out and "hz.test" not in out and str(webhook.port) not in out
