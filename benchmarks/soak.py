"""Soak: `hzwatch run` polls the replica on an accelerated schedule while the replica publishes new
articles at random times and one subscription's endpoint goes down for a while. Prints freshness
(publication -> stored -> alert delivered: median, p95, max), politeness (requests per site per hour
and per new article, from the replica's own request log), memory (peak and final RSS of every
process), database growth, and alerts expected / delivered / lost / duplicated.

    python benchmarks/soak.py --minutes 30 --every 60 --articles 40     # the long run
    python benchmarks/soak.py --minutes 2.5 --every 20 --articles 8     # a quick one (CI test size)

tests/test_soak.py runs it (a few minutes; 30 with HZWATCH_FAULTS_LONG=1) and checks the targets:
p95 publication -> alert <= interval + 60 s, service RSS at the end within 10% of the RSS after the
first quarter, 0 alerts lost, 0 duplicated."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("hznews", "gov-www", "zjol-hz")
# where the replica publishes (lists the sources above read)
TARGETS = ("hznews", "gov/www.hangzhou.gov.cn/812262", "zjol")
PUBLIC = "http://hzwatch.test:8001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook:
    """A webhook endpoint (Apprise json://) that records what it accepted and can go down and up."""

    def __init__(self, name: str):
        self.name, self.port = name, free_port()
        self.received: list[tuple[float, dict]] = []
        self._server: ThreadingHTTPServer | None = None
        self.up()

    @property
    def apprise_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/{self.name}"

    def up(self) -> None:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    hook.received.append((time.time(), json.loads(body)))
                except ValueError:
                    pass
                self.send_response(200)
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def links(self) -> list[tuple[float, str]]:
        """(arrival time, article URL) of every alert received."""
        out = []
        for t, msg in self.received:
            for line in (msg.get("message") or "").splitlines():
                if line.startswith("原文链接："):
                    out.append((t, line.split("：", 1)[1].strip()))
        return out


class Replica:
    """`python -m replica.server` in a subprocess, controlled over HTTP."""

    def __init__(self, articles: int, seed: int):
        argv = [sys.executable, "-m", "replica.server", "--articles", str(articles), "--seed", str(seed)]
        self.proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True)
        info = json.loads(self.proc.stdout.readline())
        self.base_url, self.remap = info["base_url"], info["remap"]

    def _call(self, path: str, post: bool = False):
        req = urllib.request.Request(f"{self.base_url}/__replica__/{path}", data=b"" if post else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def publish(self, target: str) -> str:
        return self._call(f"publish?n=1&target={target}", post=True)[0]["url"]

    def requests(self) -> list[dict]:
        return self._call("requests")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# -- memory ------------------------------------------------------------------------------


def _rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _descendants(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids + [g for k in kids for g in _descendants(k)]


def _kind(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv]
    if "crawl" in words:
        return "crawl " + words[words.index("crawl") + 1]
    if "datasette" in " ".join(words):
        return "datasette"
    if "replica.server" in words:
        return "replica"
    return "service" if "run" in words else Path(words[0]).name


class MemoryLog:
    """RSS of the service, its children and the replica, sampled every second."""

    def __init__(self, roots: dict[str, int]):
        self.roots = roots
        self.samples: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            now = time.monotonic()
            pids = {pid for pid in self.roots.values()}
            pids |= {k for pid in self.roots.values() for k in _descendants(pid)}
            for pid in pids:
                kb = _rss_kb(pid)
                if kb:
                    self.samples[_kind(pid) if pid not in self.roots.values() else self._root(pid)].append((now, kb))

    def _root(self, pid: int) -> str:
        return next(name for name, p in self.roots.items() if p == pid)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def at(self, kind: str, when: float) -> int | None:
        """The sample of `kind` closest to `when` (monotonic seconds)."""
        s = self.samples.get(kind) or []
        return min(s, key=lambda x: abs(x[0] - when))[1] if s else None


# -- the run -----------------------------------------------------------------------------


def _hz(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", *args], cwd=REPO, env={**os.environ, **(env or {})}, **kw
    )


def _stored(db_path: Path, urls: list[str]) -> dict[str, tuple[float, int | None]]:
    """url -> (fetched_at as epoch seconds, relevant) of the stored ones."""
    con = sqlite3.connect(db_path, timeout=30)
    try:
        marks = ",".join("?" * len(urls))
        rows = con.execute(f"SELECT url, fetched_at, relevant FROM articles WHERE url IN ({marks})", urls).fetchall()
    finally:
        con.close()
    return {u: (dt.datetime.fromisoformat(f).timestamp(), r) for u, f, r in rows if f}


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def _summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"median {statistics.median(values):.1f} s, p95 {_pct(values, 0.95):.1f} s, max {max(values):.1f} s"


def run_soak(minutes: float, every: float, articles: int, seed: int = 7, workdir: Path | None = None) -> dict:
    """Run the soak; return its figures (also printed)."""
    rng = random.Random(seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="hzwatch-soak-"))
    db_path = work / "soak.db"
    replica = Replica(articles=60, seed=seed)
    hooks = {"always": Hook("always"), "outage": Hook("outage")}
    subs = work / "subs.yaml"
    subs.write_text(
        "delivery:\n  backoff_base_seconds: 2\n  backoff_max_seconds: 10\n  lease_seconds: 30\n"
        "subscriptions:\n"
        "  - {name: always-up, urls_env: [SOAK_HOOK_ALWAYS]}\n"
        "  - {name: with-outage, urls_env: [SOAK_HOOK_OUTAGE]}\n",
        encoding="utf-8",
    )
    env = {
        "SOAK_HOOK_ALWAYS": hooks["always"].apprise_url,
        "SOAK_HOOK_OUTAGE": hooks["outage"].apprise_url,
        "HZWATCH_PUBLIC_URL": PUBLIC,
    }
    remap = sum((["--remap", r] for r in replica.remap), [])
    # the backfill first (its articles are not soak alerts: the subscriptions start after it)
    subprocess.run(
        [sys.executable, "-m", "monitor.cli", "crawl", *SOURCES, "--db", str(db_path), "--fast", *remap],
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    log_path = work / "service.log"
    with open(log_path, "wb") as log:
        service = _hz(
            "run", "--db", str(db_path), "--no-serve", "--fast", "--sources", ",".join(SOURCES),
            "--every", str(every), "--max-crawls", "2", "--dispatch-every", "2",
            "--subscriptions", str(subs), *remap, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    mem = MemoryLog({"service": service.pid, "replica": replica.proc.pid})
    duration = minutes * 60
    t0, m0 = time.time(), time.monotonic()
    db_start = _db_size(db_path)
    n_requests_before = len(replica.requests())
    plan = sorted(rng.uniform(0.05, 0.8) * duration for _ in range(articles))
    outage = (0.3 * duration, 0.55 * duration)
    published: dict[str, float] = {}
    down = False
    try:
        for at in plan:
            while time.time() - t0 < at:
                down = _toggle_outage(hooks["outage"], time.time() - t0, outage, down)
                time.sleep(0.2)
            published[replica.publish(rng.choice(TARGETS))] = time.time()
        while time.time() - t0 < duration:
            down = _toggle_outage(hooks["outage"], time.time() - t0, outage, down)
            time.sleep(0.5)
        if down:
            hooks["outage"].up()
        figures = _drain_and_measure(db_path, hooks, published, every, t0, m0, duration, mem)
    finally:
        service.terminate()
        try:
            service.wait(60)
        except subprocess.TimeoutExpired:
            service.kill()
        mem.stop()
        log = replica.requests()[n_requests_before:]
        replica.stop()
        for h in hooks.values():
            h.down()
    figures.update(_politeness(log, published, time.time() - t0))
    figures["db_growth_mb"] = (_db_size(db_path) - db_start) / 1e6
    figures["service_errors"] = _service_errors(log_path)
    figures["service_log_tail"] = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
    _print(figures, minutes, every, articles)
    return figures


def _toggle_outage(hook: Hook, elapsed: float, window: tuple[float, float], down: bool) -> bool:
    if not down and window[0] <= elapsed < window[1]:
        hook.down()
        return True
    if down and elapsed >= window[1]:
        hook.up()
        return False
    return down


def _db_size(db_path: Path) -> int:
    return sum(p.stat().st_size for p in (db_path, Path(f"{db_path}-wal")) if p.exists())


def _drain_and_measure(db_path, hooks, published, every, t0, m0, duration, mem) -> dict:
    """Wait (at most two intervals and two minutes) until every expected alert arrived, then measure."""
    urls = list(published)
    deadline = time.time() + 2 * every + 120
    while True:
        stored = _stored(db_path, urls)
        expected = {u for u, (_, rel) in stored.items() if rel == 1}
        got = {name: {u for _, u in h.links()} for name, h in hooks.items()}
        if (len(stored) == len(urls) and all(expected <= g for g in got.values())) or time.time() > deadline:
            break
        time.sleep(1)
    m_end = time.monotonic()
    out: dict = {"published": len(urls), "stored": len(stored), "relevant": len(expected)}
    out["not_stored"] = sorted(set(urls) - set(stored))
    out["drained"] = time.time() <= deadline
    out["to_stored"] = [stored[u][0] - published[u] for u in urls if u in stored]
    for name, hook in hooks.items():
        first: dict[str, float] = {}
        counts = Counter(u for _, u in hook.links())
        for t, u in hook.links():
            first.setdefault(u, t)
        soak_links = {u for u in counts if u in published}
        out[f"to_alert_{name}"] = [first[u] - published[u] for u in expected if u in first]
        out[f"alerts_{name}"] = {
            "expected": len(expected),
            "delivered": len(expected & soak_links),
            "lost": len(expected - soak_links),
            "duplicated": sum(n - 1 for u, n in counts.items() if n > 1),
            "unexpected": len(set(counts) - expected),
            "missing": sorted(expected - soak_links),
        }
    out["rss_kb"] = {
        kind: {"peak": max(kb for _, kb in s), "final": s[-1][1]} for kind, s in sorted(mem.samples.items())
    }
    out["service_rss_quarter_kb"] = mem.at("service", m0 + duration / 4)
    out["service_rss_end_kb"] = mem.at("service", m_end)
    return out


def _politeness(log: list[dict], published: dict, seconds: float) -> dict:
    hours = max(seconds / 3600, 1e-9)
    per_host = Counter(r["host"] for r in log)
    return {
        "requests": len(log),
        "requests_per_host_hour": {h: n / hours for h, n in sorted(per_host.items())},
        "requests_per_new_article": len(log) / max(len(published), 1),
    }


def _service_errors(log_path: Path) -> int:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return text.count("Traceback")


def _print(f: dict, minutes: float, every: float, articles: int) -> None:
    print(f"soak: {minutes:g} min, every {every:g} s, {articles} articles published at random times")
    print(f"  published {f['published']}, stored {f['stored']}, relevant (alerted) {f['relevant']}")
    print(f"  publication -> stored:              {_summary(f['to_stored'])}")
    print(f"  publication -> alert (always up):   {_summary(f['to_alert_always'])}")
    print(f"  publication -> alert (with outage): {_summary(f['to_alert_outage'])}")
    for name in ("always", "outage"):
        a = f[f"alerts_{name}"]
        print(
            f"  alerts {name:<7} expected {a['expected']}, delivered {a['delivered']}, lost {a['lost']}, "
            f"duplicated {a['duplicated']}"
        )
    print(f"  requests {f['requests']} in all, {f['requests_per_new_article']:.1f} per new article; per site per hour:")
    for host, n in f["requests_per_host_hour"].items():
        print(f"    {host:<28} {n:8.0f}")
    print("  RSS (MB) peak / final:")
    for kind, r in f["rss_kb"].items():
        print(f"    {kind:<20} {r['peak'] / 1024:6.1f} / {r['final'] / 1024:6.1f}")
    q, e = f["service_rss_quarter_kb"], f["service_rss_end_kb"]
    if q and e:
        change = (e - q) / q
        print(f"  service RSS after the first quarter {q / 1024:.1f} MB, at the end {e / 1024:.1f} MB ({change:+.1%})")
    print(f"  database growth {f['db_growth_mb']:.2f} MB; tracebacks in the service log: {f['service_errors']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--every", type=float, default=60, help="crawl interval of every source, seconds")
    ap.add_argument("--articles", type=int, default=40, help="new articles published during the run")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    run_soak(args.minutes, args.every, args.articles, args.seed)


if __name__ == "__main__":
    main()
