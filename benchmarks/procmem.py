"""Peak memory of a process tree, sampled from /proc (Linux; no psutil needed).

VmHWM is the kernel's own peak resident set of a process, so sampling only has to catch each
process before it exits; the tree total (sum of VmRSS at one instant) is sampled every `every` s.
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _children(pid: int) -> list[int]:
    """Direct children of pid, from /proc/PID/task/*/children (falls back to scanning ppids)."""
    kids: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                kids += [int(x) for x in fh.read().split()]
        return kids
    except OSError:
        pass
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return kids


def tree(pid: int) -> list[int]:
    """pid and all its descendants alive now."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


class MemoryWatch:
    """Samples a process tree in a thread: peak VmHWM per pid and the peak tree-wide VmRSS sum."""

    def __init__(self, pid: int, every: float = 0.05, label=None):
        self.pid = pid
        self.every = every
        self.label = label or (lambda pid: str(pid))
        self.hwm_kb: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.tree_peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def sample(self) -> None:
        total = 0
        for p in tree(self.pid):
            st = _status_kb(p)
            if not st:
                continue
            total += st.get("VmRSS", 0)
            if st.get("VmHWM", 0) > self.hwm_kb.get(p, 0):
                self.hwm_kb[p] = st["VmHWM"]
                if p not in self.names:
                    self.names[p] = _cmdline(p)
        self.tree_peak_kb = max(self.tree_peak_kb, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def root_mb(self) -> float:
        return self.hwm_kb.get(self.pid, 0) / 1024

    def max_child_mb(self, match: str = "") -> float:
        """Largest peak among descendants whose command line contains `match`."""
        vals = [kb for p, kb in self.hwm_kb.items() if p != self.pid and match in self.names.get(p, "")]
        return max(vals, default=0) / 1024

    def tree_mb(self) -> float:
        return self.tree_peak_kb / 1024


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def run_measured(argv: list[str], timeout: float = 1800, **popen_kw) -> dict:
    """Run argv to its end: wall and CPU seconds (of its waited-for tree), exit code, output, peak memory."""
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_kw)
    with MemoryWatch(proc.pid) as watch:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "rc": proc.returncode,
        "wall": wall,
        "cpu": cpu,
        "stdout": out.decode("utf-8", "replace"),
        "stderr": err.decode("utf-8", "replace"),
        "peak_mb": watch.root_mb(),
        "tree_peak_mb": watch.tree_mb(),
        "watch": watch,
    }
