"""Replica-server helpers (the `replica` and `fresh_replica` fixtures are in conftest.py).

- `start_replica_process(...)`: the CLI in a subprocess (benchmarks, or to keep the server off the test's
  GIL); returns a ReplicaProcess with the same control methods over HTTP.
- `fetch(server, real_url_or_path, ...)`: urllib GET/POST through the replica -> (status, headers, bytes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

from support_data import REPO

from replica.server import ReplicaServer


def fetch(server, url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    """Fetch a real URL (https://host/path) or a local path (/host/path) from the replica."""
    local = server.url(url) if url.startswith(("http://", "https://")) else server.base_url + url
    req = urllib.request.Request(local, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class ReplicaProcess:
    """`python -m replica.server` in a subprocess, controlled over HTTP."""

    def __init__(self, articles: int | None = None, seed: int = 0, extra: list[str] | None = None):
        argv = [sys.executable, "-m", "replica.server", "--seed", str(seed), *(extra or [])]
        if articles is not None:
            argv += ["--articles", str(articles)]
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join(p for p in [str(REPO), os.environ.get("PYTHONPATH", "")] if p)
        )
        self.proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()
        if not first:
            raise RuntimeError(f"replica server exited with {self.proc.wait()}")
        info = json.loads(first)
        self.base_url, self._remap, self.hosts = info["base_url"], info["remap"], info["hosts"]

    def url(self, real_url: str) -> str:
        return ReplicaServer.url(self, real_url)

    def remap_args(self) -> list[str]:
        return list(self._remap)

    def _call(self, path: str, post: bool = False):
        req = urllib.request.Request(f"{self.base_url}/__replica__/{path}", data=b"" if post else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def requests(self, host: str | None = None) -> list[dict]:
        return self._call("requests" + (f"?host={host}" if host else ""))

    def reset(self) -> None:
        self._call("reset", post=True)

    def publish(self, n: int, target: str = "hznews") -> list[str]:
        return [a["url"] for a in self._call(f"publish?n={n}&target={target}", post=True)]

    def articles(self) -> list[dict]:
        return self._call("articles")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_replica_process(articles: int | None = None, seed: int = 0, extra: list[str] | None = None) -> ReplicaProcess:
    """Start the replica CLI in a subprocess (call .stop() when done)."""
    return ReplicaProcess(articles, seed, extra)
