"""Chinese alert messages, rendered from stored state with the templates in monitor/alerting/alerts.yaml."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def public_url(delivery: dict) -> str:
    """Base URL of the public Datasette (from the environment, else the default)."""
    return (os.environ.get(delivery["public_url_env"]) or delivery["public_url_default"]).rstrip("/")


def datasette_link(delivery: dict, article_id: int) -> str:
    return public_url(delivery) + delivery["article_path"].format(id=article_id)


def format_time(value: str | None, tz: str, unknown: str) -> str:
    """An ISO timestamp shown in local time as YYYY-MM-DD HH:MM (as stored if unparseable)."""
    if not value:
        return unknown
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        return parsed.strftime("%Y-%m-%d %H:%M") if len(value) > 10 else value
    return parsed.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _snippet(matches: list[dict], limit: int) -> str | None:
    for m in matches:
        try:
            evidence = json.loads(m.get("evidence") or "[]")
        except (TypeError, ValueError):
            continue
        if isinstance(evidence, dict):
            evidence = [evidence]
        for e in evidence or []:
            text = (e.get("snippet") or e.get("term")) if isinstance(e, dict) else str(e)
            if text:
                text = " ".join(str(text).split())
                return text if len(text) <= limit else text[:limit] + "…"
    return None


def render_article(
    article: dict, matches: list[dict], progress: list[dict], delivery: dict, templates: dict
) -> Message:
    """One article's alert: title, source, time, items, evidence, progress, links."""
    t = templates
    unknown = t["unknown"]
    source = article.get("source_display") or article.get("site") or unknown
    if article.get("source_name") and article["source_name"] != source:
        source = f"{source}（{article['source_name']}）"
    items = t["list_sep"].join(dict.fromkeys(m.get("item_title") or m["item_id"] for m in matches))
    if matches and all(m.get("candidate") for m in matches):
        items = t["candidate_items"].format(items=items)  # below the threshold: a reader should confirm
    lines = [
        t["line_source"].format(source=source),
        t["line_time"].format(time=format_time(article.get("published"), delivery["timezone"], unknown)),
        t["line_items"].format(items=items or unknown),
    ]
    if article.get("score") is not None:
        lines.append(t["line_score"].format(score=f"{article['score']:.2f}"))
    snippet = _snippet(matches, int(t["evidence_max_chars"]))
    if snippet:
        lines.append(t["line_evidence"].format(evidence=snippet))
    if progress:
        figures = []
        for p in progress:
            text = t["progress_item"].format(
                metric=p.get("metric") or p["target_id"], value=_number(p["value"]), unit=p["unit"]
            )
            if p.get("as_of"):
                text += t["progress_as_of"].format(as_of=p["as_of"])
            figures.append(text)
        lines.append(t["line_progress"].format(progress=t["list_sep"].join(figures)))
    lines.append(t["line_link"].format(url=article["url"]))
    lines.append(t["line_datasette"].format(datasette_url=datasette_link(delivery, article["id"])))
    title = t["title"].format(title=article.get("title") or unknown)
    return Message(title=title, body="\n".join(lines))


def render_digest(entries: list[Message], delivery: dict, templates: dict) -> Message:
    """Several article alerts folded into one message."""
    today = dt.datetime.now(ZoneInfo(delivery["timezone"])).strftime("%Y-%m-%d")
    body = templates["digest_entry_sep"].join(f"{e.title}\n{e.body}" for e in entries)
    return Message(title=templates["digest_title"].format(date=today, count=len(entries)), body=body)


def split(message: Message, limit: int, templates: dict) -> list[Message]:
    """`message` as parts of at most `limit` characters (title and body), cut between digest entries
    where possible; each part's title says which part it is."""
    if limit <= 0 or len(message.title) + len(message.body) <= limit:
        return [message]
    room = max(limit - len(message.title) - 20, 200)  # 20: the part marker
    sep = templates["digest_entry_sep"]
    chunks: list[str] = []
    for entry in message.body.split(sep):
        while len(entry) > room:  # one entry longer than a whole message: cut it
            chunks.append(entry[:room])
            entry = entry[room:]
        if chunks and len(chunks[-1]) + len(sep) + len(entry) <= room:
            chunks[-1] += sep + entry
        else:
            chunks.append(entry)
    total = len(chunks)
    return [
        Message(title=message.title + templates["digest_part"].format(n=n, total=total), body=body)
        for n, body in enumerate(chunks, 1)
    ]


def render_test(name: str, delivery: dict, templates: dict) -> Message:
    now = dt.datetime.now(ZoneInfo(delivery["timezone"])).strftime("%Y-%m-%d %H:%M")
    return Message(title=templates["test_title"], body=templates["test_body"].format(name=name, time=now))
