"""Fixtures shared by several test modules. Helpers live in the `support_*` modules, imported normally.

- `repo_root`: the repository (every file a test reads is inside it; see tests/data/README.md).
- `matcher`: one Matcher on the bundled catalog for the whole session (it keeps no state between calls).
- `replica`: one replica-sites server per test module (handwritten content + default generated
  articles), request log reset before each test, hrss throttle trap OFF (order-independent).
  Don't publish on it.
- `fresh_replica`: a new replica server for one test with every trap as in sites.yaml (hrss
  throttle page on the 2nd column request; hanging bad cases stall 3 s); publish/config freely.
- `webhook`, `smtp`: real notification endpoints on 127.0.0.1 that record what they accepted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support_data import REPO
from support_servers import SMTPReceiver, WebhookReceiver

from monitor.matching.catalog import load_catalog
from monitor.matching.matcher import Matcher
from replica.server import start as start_replica


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    """The product's matcher: every bundled plan."""
    return Matcher()


@pytest.fixture(scope="session")
def matcher_2024() -> Matcher:
    """The 2024 plan alone: what the labelled sets (written with 2024 ids) are scored against."""
    return Matcher(load_catalog().only(["hangzhou-2024"]))


@pytest.fixture(scope="module")
def replica_module():
    srv = start_replica(seed=0, rate_limit_nth=0)
    yield srv
    srv.stop()


@pytest.fixture
def replica(replica_module):
    replica_module.reset()
    return replica_module


@pytest.fixture
def fresh_replica():
    srv = start_replica(seed=0, hang_seconds=3)
    yield srv
    srv.stop()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def smtp():
    receiver = SMTPReceiver()
    yield receiver
    receiver.stop()
