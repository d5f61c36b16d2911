"""Re-matching the whole database (`hzwatch match --all --force`): killed part-way, run again, it
continues where it stopped and ends with exactly what an uninterrupted run stores."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from support_data import EVAL_CASES as CASES
from support_data import EVAL_DEV as DEV
from support_data import PLAN, REPO
from support_wait import wait_until

import db as dbmod
from db.articles import store_article
from db.records import Article

COPIES = 20  # (21 labelled real articles + our labelled cases, with figures) x 20, in batches of 10
BATCH = "10"


def _build(path: Path, copies: int = COPIES) -> int:
    assert subprocess.run([sys.executable, "-m", "monitor.cli", "init", "--db", str(path)], cwd=REPO).returncode == 0
    database = dbmod.connect(path)
    paths = sorted(DEV.glob("*.json")) + sorted(CASES.glob("*.json"))
    cases = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    with database.atomic():
        for n in range(copies):
            for case in cases:
                art = Article.from_labelled(case)
                # copies on other sites, a day apart: syndicated stories with several sources
                store_article(
                    database,
                    Article(
                        url=f"{art.url}?copy={n}",
                        title=art.title,
                        body=art.body,
                        published=art.published,
                        site=art.site if n % 3 == 0 else f"copy{n % 3}.example.cn",
                        source_name=art.source_name,
                    ),
                )
    count = database.execute("SELECT count(*) FROM articles").fetchone()[0]
    database.conn.close()
    return count


def _rematch(path: Path, *plans: Path, **kw) -> subprocess.Popen:
    argv = [sys.executable, "-m", "monitor.cli", "match", "--all", "--force", "--batch", BATCH, "--db", str(path)]
    argv += [arg for plan in plans for arg in ("--plan", str(plan))]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _matched_so_far(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT matched FROM rematch_state WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # the table is not there yet (migrations still running)
        return 0
    finally:
        conn.close()
    return row[0] if row else 0


def _state(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {
            "articles": conn.execute(
                "SELECT id, relevant, score, candidate, matcher_version FROM articles ORDER BY id"
            ).fetchall(),
            "matches": conn.execute(
                "SELECT article_id, item_id, score, evidence FROM matches ORDER BY article_id, item_id"
            ).fetchall(),
            "progress": conn.execute(
                "SELECT article_id, target_id, value, unit, as_of, quote FROM progress"
                " ORDER BY article_id, target_id, value, as_of"
            ).fetchall(),
            "figures": sorted(conn.execute("SELECT * FROM figure_assessments").fetchall(), key=repr),
            "latest": sorted(conn.execute("SELECT * FROM target_latest").fetchall(), key=repr),
            "stored": sorted(conn.execute("SELECT * FROM figure_table").fetchall(), key=repr),
            "dirty": conn.execute("SELECT count(*) FROM figure_dirty").fetchone()[0],
            "unfinished": conn.execute("SELECT count(*) FROM rematch_state").fetchone()[0],
        }
    finally:
        conn.close()


def _wipe(path: Path) -> None:
    """Forget the stored matcher output, so that a re-match writes every row anew."""
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM matches")
    conn.execute("DELETE FROM progress")
    conn.execute("UPDATE articles SET relevant = NULL, score = NULL, matcher_version = NULL")
    conn.commit()
    conn.close()


def _run(path: Path, *plans: Path) -> None:
    out, err = (proc := _rematch(path, *plans)).communicate(timeout=300)
    assert proc.returncode == 0, err


def _row_ids(path: Path) -> dict[int, list[int]]:
    """Each article's progress row ids (new ids when its rows are written again)."""
    conn = sqlite3.connect(path)
    try:
        ids: dict[int, list[int]] = {}
        for article_id, row_id in conn.execute("SELECT article_id, id FROM progress ORDER BY id"):
            ids.setdefault(article_id, []).append(row_id)
        return ids
    finally:
        conn.close()


def test_killed_rematch_resumes_and_equals_an_uninterrupted_run(tmp_path):
    first = tmp_path / "killed.db"
    total = _build(first)
    second = tmp_path / "whole.db"
    shutil.copy(first, second)
    # the stored matcher output must really be rewritten: wipe it on both copies
    for path in (first, second):
        _wipe(path)

    proc = _rematch(first, start_new_session=True)
    try:
        wait_until(lambda: _matched_so_far(first) >= 30 or proc.poll() is not None, 60, "three batches matched")
        assert proc.poll() is None, "the re-match ended before it could be interrupted: " + proc.stderr.read()
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    proc.stdout.close(), proc.stderr.close()
    done_before = _matched_so_far(first)
    assert 30 <= done_before < total and done_before % int(BATCH) == 0  # whole batches only

    resumed = _rematch(first)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert "继续上次中断的重新匹配" in err
    assert f"matched {total - done_before} articles" in out  # only what was left
    assert "用时" in out and "每秒" in out

    whole = _rematch(second)
    out, err = whole.communicate(timeout=300)
    assert whole.returncode == 0, err
    assert f"matched {total} articles" in out and "继续" not in err

    got, want = _state(first), _state(second)
    assert got["unfinished"] == want["unfinished"] == 0 and got["dirty"] == want["dirty"] == 0
    assert want["progress"] and want["figures"] and want["latest"]
    for key in ("articles", "matches", "progress", "figures", "latest", "stored"):
        assert got[key] == want[key], key


def test_interrupted_rematch_says_how_to_continue(tmp_path):
    path = tmp_path / "hz.db"
    total = _build(path)
    proc = _rematch(path)
    try:
        wait_until(lambda: _matched_so_far(path) >= 10 or proc.poll() is not None, 60, "a batch matched")
        assert proc.poll() is None, "the re-match ended before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and "Traceback" not in err
    assert "再次运行同一命令即从中断处继续" in err
    assert 10 <= _matched_so_far(path) < total


def test_rematch_writes_only_what_changed_and_stores_what_a_full_rewrite_stores(tmp_path):
    """A re-match leaves the rows of an article whose result is unchanged as they are (only its
    matcher version and time are written); the database then equals one where every row was
    written anew, both for the same catalog and after a plan change."""
    base = tmp_path / "base.db"
    _build(base, copies=3)
    _run(base)  # every article matched once: the stored output is the full catalog's
    before = _row_ids(base)
    assert before

    copies = {name: tmp_path / f"{name}.db" for name in ("same", "same_full", "changed", "changed_full")}
    for path in copies.values():
        shutil.copy(base, path)
    # A plan change: the 2024 plan without its housing target (figures of it vanish, others stay).
    plan_text = PLAN.read_text(encoding="utf-8")
    start = plan_text.index("  - id: tgt-housing-6000\n")
    end = plan_text.index("  - id: ", start + 1)
    changed_plan = tmp_path / "hangzhou-2024.yaml"
    changed_plan.write_text(plan_text[:start] + plan_text[end:], encoding="utf-8")
    plans = (changed_plan, PLAN.with_name("hangzhou-2026.yaml"))
    _run(copies["same"])
    _wipe(copies["same_full"])
    _run(copies["same_full"])
    _run(copies["changed"], *plans)
    _wipe(copies["changed_full"])
    _run(copies["changed_full"], *plans)

    for got, want in (("same", "same_full"), ("changed", "changed_full")):
        got_state, want_state = _state(copies[got]), _state(copies[want])
        for key in ("articles", "matches", "progress", "figures", "latest", "stored"):
            assert got_state[key] == want_state[key], (got, key)
        assert got_state["dirty"] == want_state["dirty"] == 0

    # Same catalog: no article's rows were written again (a rewrite gives new row ids).
    assert _row_ids(copies["same"]) == before
    # The plan change rewrote the rows of the articles whose result changed, and only those.
    base_results, new_results = _results(base), _results(copies["changed_full"])
    changed = {a for a in base_results if base_results[a] != new_results[a]}
    after = _row_ids(copies["changed"])
    rewritten = {a for a in before if after.get(a) != before[a]}
    assert rewritten == changed & set(before)
    assert rewritten and len(rewritten) < len(before)


def _results(path: Path) -> dict[int, tuple]:
    """Each article's matcher result as stored: verdict, matches, progress."""
    conn = sqlite3.connect(path)
    try:
        out = {
            r[0]: (r[1:], [], [])
            for r in conn.execute("SELECT id, relevant, score, candidate FROM articles ORDER BY id")
        }
        for r in conn.execute("SELECT article_id, item_id, score, evidence FROM matches ORDER BY article_id, item_id"):
            out[r[0]][1].append(r[1:])
        for r in conn.execute("SELECT article_id, target_id, value, unit, as_of, quote FROM progress ORDER BY id"):
            out[r[0]][2].append(r[1:])
        return out
    finally:
        conn.close()
