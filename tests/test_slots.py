"""monitor/service/slots.py: crawl slots go to the source that has waited longest, not to whichever
thread wakes first."""

from __future__ import annotations

import threading

from support_wait import wait_until

from monitor.service.slots import FairSlots


def test_waiting_crawls_get_the_slot_oldest_last_start_first():
    slots, stop = FairSlots(1), threading.Event()
    assert slots.acquire(0.0, stop)
    order: list[str] = []

    def crawl(name: str, last_start: float) -> None:
        if slots.acquire(last_start, stop):
            order.append(name)
            slots.release()

    # queued newest-first: a FIFO or a free-for-all would not give the oldest first
    threads = []
    for name, last in [("ran-recently", 300.0), ("ran-long-ago", 100.0), ("never-ran", 0.0), ("middle", 200.0)]:
        t = threading.Thread(target=crawl, args=(name, last))
        t.start()
        threads.append(t)
        queued = len(threads)
        wait_until(lambda: slots.waiting() == queued, 5, f"{queued} waiting")  # noqa: B023 - called at once
    slots.release()
    for t in threads:
        t.join(5)
    assert order == ["never-ran", "ran-long-ago", "middle", "ran-recently"]


def test_stop_releases_every_waiter_without_a_slot():
    slots, stop = FairSlots(1), threading.Event()
    assert slots.acquire(0.0, stop)
    got: list[bool] = []
    t = threading.Thread(target=lambda: got.append(slots.acquire(5.0, stop)))
    t.start()
    wait_until(lambda: slots.waiting() == 1, 5, "one waiter")
    stop.set()
    t.join(5)
    assert got == [False] and slots.waiting() == 0 and slots.busy == 1
