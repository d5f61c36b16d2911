"""Helpers for the fault and security suites: the real CLI in subprocesses, Datasette over HTTP."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from support_data import REPO
from support_servers import free_port
from support_wait import wait_until


def env(**extra: str) -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO), e.get("PYTHONPATH", "")] if p)
    e.pop("HZWATCH_DB", None)
    e.update(extra)
    return e


def hz(*args: str) -> list[str]:
    """argv of the hzwatch CLI run from the working tree."""
    return [sys.executable, "-m", "monitor.cli", *map(str, args)]


def remap_flags(server) -> list[str]:
    out: list[str] = []
    for r in server.remap_args():
        out += ["--remap", r]
    return out


def run_hz(*args: str, timeout: float = 300, extra_env: dict | None = None, check: bool = True):
    """Run one hzwatch command to its end; fail the test with its stderr tail if it fails."""
    proc = subprocess.run(
        hz(*args), cwd=REPO, env=env(**(extra_env or {})), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-20:])
        raise AssertionError(f"`hzwatch {' '.join(map(str, args))}` exited {proc.returncode}:\n{tail}")
    return proc


def crawl_argv(server, db: Path, *extra: str) -> list[str]:
    return hz("crawl", "--db", str(db), "--fast", *remap_flags(server), *extra)


def init_db(db: Path) -> None:
    run_hz("init", "--db", str(db), timeout=120)


def query(db: Path, sql: str, params=()) -> list[tuple]:
    """Read-only query on a live database (WAL readers never block the writer)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(str(db), timeout=30)
    try:
        return ";".join(r[0] for r in conn.execute("PRAGMA integrity_check").fetchall())
    finally:
        conn.close()


class Datasette:
    """A Datasette subprocess started the way hzwatch starts it (monitor.service.serve.datasette_argv)."""

    def __init__(self, db: Path, allow_sql: bool = False):
        from monitor.service.serve import datasette_argv, datasette_env

        self.db = Path(db)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(self.db.parent / f"datasette-{self.port}.log", "wb")
        self.proc = subprocess.Popen(
            datasette_argv(str(db), "127.0.0.1", self.port, allow_sql=allow_sql),
            cwd=REPO,
            env=datasette_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(self._answers, 60, f"Datasette on port {self.port}", step=0.2, ignore=(OSError,))
        except AssertionError as exc:
            self.stop()
            raise AssertionError(f"{exc}: {self.stderr()[-2000:]}") from None

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"Datasette exited with code {self.proc.returncode}")
        with urllib.request.urlopen(self.base + "/-/versions.json", timeout=2) as resp:
            return resp.status == 200

    def get(self, path: str, timeout: float = 30) -> tuple[int, str]:
        """(status, body text) of a GET; HTTP errors are returned, not raised."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")

    def stderr(self) -> str:
        self.log.flush()
        return (self.db.parent / f"datasette-{self.port}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@contextmanager
def datasette(db: Path, allow_sql: bool = False):
    ds = Datasette(db, allow_sql=allow_sql)
    try:
        yield ds
    finally:
        ds.stop()
