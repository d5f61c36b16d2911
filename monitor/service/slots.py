"""Crawl slots handed out fairly: when more sources are due than there are slots, the source that
has waited longest (oldest last start; never run first) goes next, whatever order the scheduler's
threads happen to wake up in."""

from __future__ import annotations

import heapq
import itertools
import threading


class FairSlots:
    """At most `n` crawls at a time; waiting crawls are served oldest-last-start first."""

    def __init__(self, n: int):
        self.n = max(1, n)
        self.busy = 0
        self._cond = threading.Condition()
        self._waiting: list[tuple[float, int]] = []
        self._seq = itertools.count()

    def acquire(self, last_start: float, stop: threading.Event) -> bool:
        """Wait for a slot; `last_start` (epoch seconds, 0 if never) orders the queue. False if
        `stop` is set first."""
        with self._cond:
            ticket = (last_start, next(self._seq))
            heapq.heappush(self._waiting, ticket)
            while True:
                if stop.is_set():
                    self._waiting.remove(ticket)
                    heapq.heapify(self._waiting)
                    self._cond.notify_all()
                    return False
                if self.busy < self.n and self._waiting[0] == ticket:
                    heapq.heappop(self._waiting)
                    self.busy += 1
                    self._cond.notify_all()
                    return True
                self._cond.wait(0.5)

    def release(self) -> None:
        with self._cond:
            self.busy -= 1
            self._cond.notify_all()

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)
