"""Waiting for something observable to happen, with a deadline, instead of sleeping and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    step: float = 0.05,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `condition` until it returns a truthy value and return that value; fail after `timeout` seconds.

    `what` names the awaited event in the failure message ("the first crawl to end"). Exceptions of
    the types in `ignore` count as "not yet" (e.g. OSError while a server is still starting); the
    last one is shown if the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
        except ignore as exc:
            value, last_error = None, exc
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error is not None else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(step)  # the poll interval of this helper: the one place the tests sleep to wait
