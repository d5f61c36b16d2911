"""Driving headless Chromium through the DevTools protocol over a pipe (`--remote-debugging-pipe`):
navigate, fill forms, click, press keys, read the DOM. No websocket library or driver needed: the
browser reads JSON commands on fd 3 and writes answers and events on fd 4, each ended by a NUL.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from support_wait import wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _above_four(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """One headless Chromium with one page; cookies live in its fresh profile."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends move above fd 4 first, so putting one on 3 or 4 cannot overwrite the other.
        to_browser_r, from_browser_w = (_above_four(fd) for fd in (to_browser_r, from_browser_w))
        argv = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--window-size=1280,1600",
            "about:blank",
        ]
        # A small launcher puts the pipe ends on the fds Chromium expects, then becomes Chromium.
        launcher = (
            "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", launcher, str(to_browser_r), str(from_browser_w), *argv],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._ids = itertools.count(1)
        self._answers: dict[int, dict] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        target = self.command("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.command("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def _read(self) -> None:
        buffer = b""
        while chunk := os.read(self._from_browser, 65536):
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._answers[message["id"]] = message

    def command(self, method: str, params: dict | None = None, session: bool = False, timeout: float = 60) -> dict:
        n = next(self._ids)
        message = {"id": n, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        answer = wait_until(lambda: self._answers.get(n), timeout, f"Chromium's answer to {method}")
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def eval(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.command(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def _new_page_loaded(self) -> bool:
        return self.eval("window.__hz_old === undefined && document.readyState === 'complete'")

    def goto(self, url: str) -> None:
        self.eval("window.__hz_old = true")
        self.command("Page.navigate", {"url": url}, session=True)
        wait_until(self._new_page_loaded, 60, f"{url} to load", step=0.1, ignore=(RuntimeError,))

    def act(self, script: str) -> None:
        """Run a script that leaves the page (submits a form, follows a link); wait for the next page."""
        self.eval("window.__hz_old = true")
        self.eval(script)
        wait_until(self._new_page_loaded, 60, "the next page after: " + script[:80], step=0.1, ignore=(RuntimeError,))

    def press(self, key: str) -> None:
        """A real key press (keydown with its text, keyup), as a person types it."""
        self.eval("window.__hz_old = true")
        for kind in ("keyDown", "keyUp"):
            params = {"type": kind, "key": key, "code": f"Key{key.upper()}", "windowsVirtualKeyCode": ord(key.upper())}
            if kind == "keyDown":
                params["text"] = key
            self.command("Input.dispatchKeyEvent", params, session=True)

    def wait_for_new_page(self, what: str) -> None:
        wait_until(self._new_page_loaded, 60, what, step=0.1, ignore=(RuntimeError,))

    def html(self) -> str:
        return self.eval("document.documentElement.outerHTML")

    def close(self) -> None:
        try:
            self.command("Browser.close", timeout=10)
        except (RuntimeError, AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
