"""The service's child processes: telling a crawl process apart, tying children to the service's
life, stopping them, reading their last log lines, and finding the service that holds a database."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

KILL_GRACE_SECONDS = 3  # a crawl gets this long to close its run after SIGTERM


def is_crawl_process(pid: int) -> bool:
    """True if `pid` runs `hzwatch crawl` (so a stale pid reused by another program is left alone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = fh.read().split(b"\0")
    except OSError:
        return False
    return b"monitor.cli" in argv and b"crawl" in argv


# Launches a command that gets SIGKILL when the service dies (Linux PR_SET_PDEATHSIG survives exec),
# so no orphan crawl or Datasette outlives a killed service. Done in a tiny launcher rather than
# preexec_fn, which is unsafe in a threaded process.
_LAUNCHER = (
    "import ctypes, os, sys\n"
    "try:\n    ctypes.CDLL(None).prctl(1, 9)\nexcept Exception:\n    pass\n"
    "if os.getppid() != int(sys.argv[1]):\n    os._exit(70)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def tied_to_parent(argv: list[str]) -> list[str]:
    """argv wrapped so the process dies with this one (same pid after exec)."""
    return [sys.executable, "-c", _LAUNCHER, str(os.getpid()), *argv]


def kill_group(proc: subprocess.Popen, grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the crawl's process group, then SIGKILL after a grace period."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 5) -> str:
    """The last lines of a log file on one line (for a run's error column)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " / ".join(ln.strip() for ln in text.strip().splitlines()[-lines:])[:600]


def service_pid(db_path: str | os.PathLike[str]) -> int | None:
    """Pid of the `hzwatch run` holding this database's run lock, if one is running."""
    path = Path(f"{db_path}.run.lock")
    if not path.exists():
        return None
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            text = fh.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None
