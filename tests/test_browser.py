"""A real browser on a running `hzwatch serve`: headless Debian chromium renders the pages.

Checks the rendered DOM (Chinese text present, vega chart drawn) and saves screenshots under
tests/screenshots/ for a person to look at.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from support_fixture_db import build_fixture_db, start_logged, stop

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "tests" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    path = tmp / "hzwatch.db"
    build_fixture_db(path)
    argv = [sys.executable, "-m", "monitor.cli", "serve", "--db", str(path), "--port", "0"]
    proc, url = start_logged(
        argv, tmp / "serve.log", cwd=str(REPO), pattern=r"Uvicorn running on (http://127\.0\.0\.1:\d+)"
    )
    try:
        yield url, tmp
    finally:
        stop(proc)


def chromium(url: str, tmp: Path, *mode: str) -> subprocess.Popen:
    """Start headless chromium on url (a fresh profile each time) with --dump-dom or --screenshot."""
    profile = tmp / f"profile-{abs(hash((url,) + mode))}"
    argv = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--window-size=1280,1600",
        *mode,
        url,
    ]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def dom_and_screenshot(url: str, tmp: Path, name: str) -> str:
    """The rendered DOM of url; its screenshot saved as tests/screenshots/<name>.png (both in parallel)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    dom_proc = chromium(url, tmp, "--dump-dom")
    shot_proc = chromium(url, tmp, f"--screenshot={shot}")
    dom, dom_err = dom_proc.communicate(timeout=120)
    _out, shot_err = shot_proc.communicate(timeout=120)
    assert dom_proc.returncode == 0, dom_err[-2000:]
    assert shot_proc.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, shot_err[-2000:]
    return dom


def test_chromium_is_installed():
    assert Path(CHROMIUM).exists(), "Debian chromium missing: run scripts/setup.sh"


def test_home_page(server):
    url, tmp = server
    dom = dom_and_screenshot(url + "/", tmp, "home")
    for text in ["杭州计划追踪", "深化改革、强基固本主题年", "2026年政府工作报告年度目标任务", "督查报告"]:
        assert text in dom
    dom = dom_and_screenshot(url + "/plan/hangzhou-2024", tmp, "plan")
    for text in ["深化改革、强基固本主题年", "政务服务增值化改革", "篇报道", "新建配售型保障性住房"]:
        assert text in dom


def test_item_page(server):
    url, tmp = server
    dom = dom_and_screenshot(url + "/plan/hangzhou-2024/item/T-housing", tmp, "item")
    assert "住房保障" in dom and "相关报道" in dom and "/article/" in dom


def test_search_results(server):
    url, tmp = server
    dom = dom_and_screenshot(url + "/search?q=" + quote("数谷"), tmp, "search")
    assert "篇包含“数谷”的报道" in dom and "<mark>数谷</mark>" in dom
    assert 'data-article-id="' in dom


def test_dashboard_draws_charts(server):
    url, tmp = server
    dom = dom_and_screenshot(url + "/-/dashboards/tracker", tmp, "dashboard")
    assert "改革追踪仪表盘" in dom and "各目标完成度" in dom
    # vega-embed draws each chart as an <svg class="marks"> whose marks carry the data.
    import yaml

    metadata = yaml.safe_load((REPO / "datasette" / "metadata.yml").read_text(encoding="utf-8"))
    declared = len(metadata["plugins"]["datasette-dashboards"]["tracker"]["charts"])
    drawn = dom.count('class="marks"')
    assert drawn == declared, f"{drawn} of {declared} charts drawn"
    for mark in ["mark-line", "mark-rule", "mark-rect"]:
        assert f'class="{mark} role-mark' in dom, mark
