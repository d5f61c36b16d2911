"""The long-running service behind `hzwatch run`: crawl every source on its schedule, alert, serve.

Each crawl is a subprocess (`python -m monitor.cli crawl SOURCE`), because Scrapy's reactor cannot
restart in one process; a crawl that hangs past its timeout or outlives a shutdown is killed and its
run recorded. Alerts are dispatched from the outbox by one job; digests by one cron job each.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

import db as database
from db import runs as runs_db
from db import status as run_status
from db.alerts import digest_missed, now_iso, touch_subscription
from db.clock import BEIJING, TIMEZONE_NAME, pid_alive
from monitor.alerting import alerts
from monitor.service.processes import KILL_GRACE_SECONDS, is_crawl_process, kill_group, tail, tied_to_parent
from monitor.service.schedules import (
    RunOptions,
    ScheduleError,
    SourceSchedule,
    first_run_time,
    last_fire_before,
    load_source_schedules,
    misfire_grace,
    next_due,
    schedules,
    trigger_for,
)
from monitor.service.slots import FairSlots

log = logging.getLogger("hzwatch.scheduler")
TIMEZONE = TIMEZONE_NAME
MIN_SLOT_SECONDS = 120.0


# re-exported: the service's callers and tests import them from here
__all__ = [
    "RunOptions",
    "ScheduleError",
    "Service",
    "SourceSchedule",
    "first_run_time",
    "load_source_schedules",
    "misfire_grace",
    "next_due",
    "run_service",
    "schedules",
    "trigger_for",
]


# -- the service -------------------------------------------------------------------------


class Service:
    """Scheduler, crawl subprocesses, alert dispatch and Datasette, with a clean stop."""

    def __init__(self, opts: RunOptions):
        self.opts = opts
        self.stop_event = threading.Event()
        self.crawl_slots = FairSlots(opts.max_crawls)
        self._last_start: dict[str, float] = {}  # epoch seconds of each source's last crawl start
        self.scheduler: BackgroundScheduler | None = None
        self.sources: list[SourceSchedule] = []
        self._crawl_threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._datasette: subprocess.Popen | None = None
        self._datasette_restarts = 0
        self._dispatching = threading.Lock()
        self._lock_file = None
        self._log_dir = Path(tempfile.mkdtemp(prefix="hzwatch-run-"))

    # -- start ---------------------------------------------------------------------------
    def _take_run_lock(self) -> None:
        """One service per database: a second one would kill the first one's crawls as orphans."""
        path = Path(f"{self.opts.db_path}.run.lock")
        self._lock_file = open(path, "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            other = self._lock_file.read().strip() or "?"
            self._lock_file.close()
            self._lock_file = None
            raise ScheduleError(f"another hzwatch run (pid {other}) is using {self.opts.db_path}") from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()

    def prepare(self) -> None:
        """Initialise the DB, sync the catalog, close runs left behind by a previous process."""
        self._take_run_lock()
        db = database.connect(self.opts.db_path)
        try:
            from db.catalog import sync_catalog
            from monitor.matching.catalog import load_catalog

            sync_catalog(db, load_catalog())
        except ImportError as exc:
            log.warning("catalog not synced (%s)", exc)
        for run in run_status.running_runs(db):
            pid = run["pid"]
            if pid and pid_alive(pid) and is_crawl_process(pid):
                # An orphan crawl of a service that died: stop it so two never overlap.
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                for _ in range(50):
                    if not pid_alive(pid):
                        break
                    time.sleep(0.1)
        if self.opts.subscriptions.subscriptions and not os.environ.get(
            self.opts.subscriptions.delivery["public_url_env"]
        ):
            log.warning(
                "%s is not set: the Datasette links in alerts point at %s, which recipients cannot open "
                "(set it to the site's public address, see README)",
                self.opts.subscriptions.delivery["public_url_env"],
                self.opts.subscriptions.delivery["public_url_default"],
            )
        # Subscriptions count as seen from the moment the service starts (their backlog is not alerted).
        for sub in self.opts.subscriptions.subscriptions:
            touch_subscription(db, sub.name, sub.mode, sub.backfill)
        killed = runs_db.mark_stale_runs(db, pid_alive)
        if killed:
            log.warning("marked %d run(s) left 'running' by a dead process as killed: %s", len(killed), killed)
        self.sources = load_source_schedules(self.opts) if self.opts.crawl else []
        db.close()

    def start(self) -> None:
        self.prepare()
        # A job still running at its next tick (a crawl waiting for a slot, a long dispatch) is normal:
        # APScheduler's warning for each such tick would fill the log.
        logging.getLogger("apscheduler.scheduler").addFilter(_quiet_skips)
        tz = BEIJING
        sched = BackgroundScheduler(
            timezone=tz,
            executors={"default": ThreadPoolExecutor(len(self.sources) + 6)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        db = database.connect(self.opts.db_path)
        last = run_status.last_started(db)
        db.close()
        self._last_start = {sid: t.timestamp() for sid, t in last.items()}
        now = dt.datetime.now(tz)
        for n, s in enumerate(self.sources):
            first = first_run_time(s, last.get(s.id), now)
            if first <= now:  # overdue: run once now, staggered so they do not all start together
                first = now + dt.timedelta(seconds=min(n * 0.5, 30))
            sched.add_job(
                self.run_crawl,
                trigger_for(s),
                args=[s.id],
                id=f"crawl:{s.id}",
                name=f"crawl {s.id}",
                next_run_time=first,
                misfire_grace_time=misfire_grace(s),
            )
            log.info(
                "source %s (%s): %s, next run %s",
                s.id,
                s.name,
                f"cron {s.cron}" if s.cron else f"every {s.interval_seconds:g} s",
                first.isoformat(),
            )
        every = self.opts.dispatch_every or float(self.opts.subscriptions.delivery["dispatch_every_seconds"])
        sched.add_job(
            self.dispatch,
            IntervalTrigger(seconds=every, timezone=tz),
            id="dispatch",
            name="alert dispatch",
            next_run_time=now,
            misfire_grace_time=max(1, int(every)),
        )
        self._add_digests(sched, now)
        if self.opts.serve:
            self._start_datasette()
            sched.add_job(
                self._watch_datasette, IntervalTrigger(seconds=2, timezone=tz), id="datasette", misfire_grace_time=5
            )
        self.scheduler = sched
        log.info("crawl logs in %s (removed at shutdown)", self._log_dir)
        sched.start()

    def _add_digests(self, sched: BackgroundScheduler, now: dt.datetime) -> None:
        """One cron job per digest subscription; a digest whose time passed while the service was
        down (rows queued before its last cron time) is sent now, not a day late."""
        db = database.connect(self.opts.db_path)
        try:
            for sub in self.opts.subscriptions.subscriptions:
                if sub.mode != "digest":
                    continue
                trigger = CronTrigger.from_crontab(sub.cron, timezone=BEIJING)
                missed = digest_missed(db, sub.name, last_fire_before(trigger, now))
                if missed:
                    log.info("digest %s: %d alert(s) waited past its time while the service was down", sub.name, missed)
                extra = {"next_run_time": now} if missed else {}
                sched.add_job(
                    self.digest,
                    trigger,
                    args=[sub.name],
                    id=f"digest:{sub.name}",
                    name=f"digest {sub.name}",
                    misfire_grace_time=3600,
                    **extra,
                )
        finally:
            db.close()

    # -- jobs ----------------------------------------------------------------------------
    def crawl_argv(self, source_id: str) -> list[str]:
        argv = [sys.executable, "-m", "monitor.cli", "crawl", source_id, "--db", str(self.opts.db_path)]
        for remap in self.opts.remap:
            argv += ["--remap", remap]
        if self.opts.fast:
            argv.append("--fast")
        return argv + list(self.opts.crawl_argv_extra)

    def slot_seconds(self, source_id: str) -> float:
        """How long a crawl may hold its slot: --crawl-timeout, and no longer than its source's
        interval (at least two minutes), so one slow source cannot hold back the others for long."""
        s = next((x for x in self.sources if x.id == source_id), None)
        if s is None or not s.interval_seconds:
            return self.opts.crawl_timeout
        return min(self.opts.crawl_timeout, max(s.interval_seconds, MIN_SLOT_SECONDS))

    def run_crawl(self, source_id: str) -> str:
        """Run one crawl subprocess to its end, timeout or shutdown; record how it ended."""
        if self.stop_event.is_set():
            return "skipped"
        with self._lock:
            self._crawl_threads.add(threading.current_thread())
        try:
            if not self.crawl_slots.acquire(self._last_start.get(source_id, 0.0), self.stop_event):
                return "skipped"
            try:
                self._last_start[source_id] = time.time()
                return self._crawl(source_id)
            finally:
                self.crawl_slots.release()
        finally:
            with self._lock:
                self._crawl_threads.discard(threading.current_thread())

    def _crawl(self, source_id: str) -> str:
        started = now_iso()
        err_path = self._log_dir / f"{source_id}.stderr"
        t0 = time.monotonic()
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(
                tied_to_parent(self.crawl_argv(source_id)),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        log.info("crawl %s started (pid %d)", source_id, proc.pid)
        ended_by, limit = None, self.slot_seconds(source_id)
        while proc.poll() is None:
            if self.stop_event.wait(0.2):
                ended_by = ("killed", "stopped by service shutdown")
            elif time.monotonic() - t0 > limit:
                ended_by = ("timeout", f"no end after {limit:g} s")
            if ended_by:
                # A hung crawl will not finish its in-flight requests: a short grace is enough.
                kill_group(proc, KILL_GRACE_SECONDS if ended_by[0] == "killed" else 1)
                break
        rc = proc.returncode
        elapsed = time.monotonic() - t0
        db = database.connect(self.opts.db_path)
        try:
            run = run_status.latest_run_of_pid(db, proc.pid, started)
            if run and run["status"] not in ("running", "killed") and run.get("ended"):
                # the crawl ended its run itself (a failed run exits 1), perhaps just before a stop or
                # timeout reached it: its own status and reason stand
                status, error = None, run.get("error") or ""
            elif ended_by:
                status, error = ended_by
            elif rc != 0:
                status, error = "failed", f"crawl exited with code {rc}: {tail(err_path)}"
            else:
                status, error = None, ""
            if status and run:
                runs_db.close_run(db, run["id"], status, error, force=bool(ended_by))
            elif status:
                runs_db.record_run(db, source_id, started, status, error, proc.pid)
            elif run and run["status"] == "running":
                runs_db.close_run(db, run["id"], "failed", "crawl exited without ending its run", False)
            elif run is None:
                runs_db.record_run(db, source_id, started, "failed", "crawl recorded no run", proc.pid)
        finally:
            db.close()
        outcome = status or (run["status"] if run else "?")
        (log.warning if status or outcome == "failed" else log.info)(
            "crawl %s ended: %s in %.1f s%s", source_id, outcome, elapsed, f" ({error})" if error else ""
        )
        if not self.stop_event.is_set() and self.scheduler is not None:
            try:  # alert soon after new articles, without waiting for the next dispatch tick
                self.scheduler.modify_job("dispatch", next_run_time=dt.datetime.now(BEIJING))
            except JobLookupError:  # no dispatch job (alerts off): nothing to hurry
                log.debug("no dispatch job to run early after %s", source_id)
        return outcome

    def dispatch(self) -> None:
        if self.stop_event.is_set():
            return
        with self._dispatching:
            self._dispatch()

    def _dispatch(self) -> None:
        db = database.connect(self.opts.db_path)
        try:
            result = alerts.dispatch_all(db, self.opts.subscriptions, self.stop_event)
            if result.sent or result.failed:  # an outage is logged once by the dispatcher, not per cycle
                log.info("alerts: %d sent, %d to retry, %d failed", result.sent, result.retrying, result.failed)
        except Exception:
            log.exception("alert dispatch failed; will retry next cycle")
        finally:
            db.close()

    def digest(self, name: str) -> None:
        db = database.connect(self.opts.db_path)
        try:
            alerts.enqueue_new(db, self.opts.subscriptions)
            result = alerts.dispatch_digest(db, self.opts.subscriptions, name)
            log.info("digest %s: %d alert(s) sent, %d to retry", name, result.sent, result.retrying)
        except Exception:
            log.exception("digest %s failed; its rows stay queued", name)
        finally:
            db.close()

    # -- datasette -----------------------------------------------------------------------
    def datasette_argv(self) -> list[str]:
        try:
            from monitor.service.serve import datasette_argv

            return datasette_argv(str(self.opts.db_path), self.opts.host, self.opts.port)
        except ImportError:
            return [
                sys.executable,
                "-m",
                "datasette",
                "serve",
                str(self.opts.db_path),
                "-h",
                self.opts.host,
                "-p",
                str(self.opts.port),
            ]

    def _start_datasette(self) -> None:
        err = open(self._log_dir / "datasette.stderr", "ab")
        self._datasette = subprocess.Popen(
            tied_to_parent(self.datasette_argv()),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        err.close()
        log.info("datasette on http://%s:%d (pid %d)", self.opts.host, self.opts.port, self._datasette.pid)

    def _watch_datasette(self) -> None:
        proc = self._datasette
        if self.stop_event.is_set() or proc is None or proc.poll() is None:
            return
        self._datasette_restarts += 1
        log.warning("datasette exited (code %s): restarting (%d)", proc.returncode, self._datasette_restarts)
        self._start_datasette()

    # -- stop ----------------------------------------------------------------------------
    def wait(self) -> None:
        """Block until SIGINT/SIGTERM (installed here, so call from the main thread)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: stopping", signum)
            self.stop_event.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)
        while not self.stop_event.wait(0.5):
            pass

    def shutdown(self) -> None:
        """Stop scheduling, end running crawls (recorded as killed), stop Datasette."""
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + KILL_GRACE_SECONDS + 10
        while time.monotonic() < deadline:
            with self._lock:
                busy = [t for t in self._crawl_threads if t.is_alive()]
            if not busy:
                break
            time.sleep(0.1)
        # Let an in-flight send finish, so its row is marked sent instead of waiting for its lease.
        if self._dispatching.acquire(timeout=15):
            self._dispatching.release()
        if self._datasette is not None and self._datasette.poll() is None:
            kill_group(self._datasette)
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock; the file may stay
        shutil.rmtree(self._log_dir, ignore_errors=True)
        log.info("stopped")


def _quiet_skips(record: logging.LogRecord) -> bool:
    return "maximum number of running instances" not in record.getMessage()


def run_service(opts: RunOptions) -> None:
    """Start the service and block until a signal stops it."""
    service = Service(opts)
    service.start()
    try:
        service.wait()
    finally:
        service.shutdown()
