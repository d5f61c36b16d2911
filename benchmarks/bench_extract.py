"""Extraction benchmark: hzwatch vs trafilatura vs gne on the 100 saved real pages.

Prints ms/page (all 100 pages, extractors interleaved page by page so machine load hits all
three alike), field accuracy on the hand-labelled pages (tests/extract_labels.yaml), and how
many of the 100 bodies keep page chrome (share bars, editor lines, footers ...).

The parse floor: `lxml.html.fromstring` alone on the same (decoded) pages, timed in the same
loop, page by page next to the extractors; hzwatch's ms/page divided by it is the ratio issue #17
asks to bring to 3 or below (hzwatch's figure includes decoding the bytes, the floor does not).

    .venv/bin/python benchmarks/bench_extract.py [--pages DIR] [--labels FILE] [--repeat N] [--only hzwatch]
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import warnings
from pathlib import Path

import lxml.html
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scrapers import dates  # noqa: E402
from scrapers.encoding import decode_html  # noqa: E402
from scrapers.extract import extract  # noqa: E402

# same definition of "chrome in the body" as tests/test_extract.py
CHROME_LINE = re.compile(
    r"分享到|打印本页|关闭窗口|^【?\s*来源|^[（(【]?\s*(?:责任编辑|责编|编辑)\s*[:：|｜]|版权所有|Copyright|ICP备"
    r"|^相关(?:新闻|阅读|链接)|^(?:上一篇|下一篇)|扫一扫|^返回(?:主页|首页|顶部)|浏览次数|页面生成时间"
)


def run_hzwatch(raw: bytes, text: str) -> dict:
    e = extract(raw)
    return {"title": e.title, "published": e.published, "source": e.source, "author": e.author, "body": e.body}


def make_gne():
    import gne

    ex = gne.GeneralNewsExtractor()

    def run(raw: bytes, text: str) -> dict:
        try:
            r = ex.extract(text)
        except Exception:  # gne raises on some pages; count it as nothing found
            return {}
        return {
            "title": r.get("title"),
            "published": dates.parse(r.get("publish_time")),
            "author": r.get("author"),
            "body": r.get("content") or "",
        }

    return run


def make_trafilatura():
    import trafilatura

    def run(raw: bytes, text: str) -> dict:
        doc = trafilatura.bare_extraction(text, with_metadata=True)
        if doc is None:
            return {}
        d = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
        return {
            "title": d.get("title"),
            "published": dates.parse(d.get("date")),
            "author": d.get("author"),
            "body": d.get("text") or "",
        }

    return run


def run_floor(raw: bytes, text: str) -> dict:
    lxml.html.fromstring(text)
    return {}


def key(s: str | None) -> str:
    return re.sub(r"[\s、]+", "", s or "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=Path, default=REPO / "tests" / "data" / "pages")
    ap.add_argument("--labels", type=Path, default=REPO / "tests" / "extract_labels.yaml")
    ap.add_argument("--repeat", type=int, default=1, help="time every page N times (accuracy from the first)")
    ap.add_argument("--only", choices=["hzwatch"], help="skip trafilatura and gne (quick runs)")
    args = ap.parse_args()
    if not args.pages.is_dir():
        sys.exit(f"pages not found: {args.pages}")
    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)

    files = sorted(args.pages.glob("*.html"))
    pages = []
    for f in files:
        raw = f.read_bytes()
        pages.append((f.name, raw, decode_html(raw)[0]))
    labels = {p["file"]: p for p in yaml.safe_load(args.labels.read_text(encoding="utf-8"))["pages"]}

    runners = {"hzwatch": run_hzwatch, "floor": run_floor}
    if not args.only:
        runners.update({"trafilatura": make_trafilatura(), "gne": make_gne()})
    for run in runners.values():  # warm-up (imports, caches)
        run(pages[0][1], pages[0][2])
    seconds = {n: 0.0 for n in runners}
    results = {n: {} for n in runners}
    for _ in range(max(1, args.repeat)):
        for name, raw, text in pages:
            for n, run in runners.items():
                t = time.perf_counter()
                results[n][name] = run(raw, text)
                seconds[n] += time.perf_counter() - t
    floor = seconds.pop("floor")
    del results["floor"], runners["floor"]
    per_page = len(pages) * max(1, args.repeat)

    rows = []
    for n in runners:
        res = results[n]
        lab = [(labels[f], res[f]) for f in labels if f in res]

        def minute(r: dict) -> str:
            return (r.get("published") or "")[:16].replace("T", " ")

        dated = [(lab_, r) for lab_, r in lab if lab_.get("published")]
        timed = [(lab_, r) for lab_, r in dated if len(lab_["published"]) > 10]
        src = [(lab_, r) for lab_, r in lab if lab_.get("source")]
        auth = [(lab_, r) for lab_, r in lab if lab_.get("author")]
        chrome = sum(1 for r in res.values() if any(CHROME_LINE.search(x) for x in (r.get("body") or "").split("\n")))
        empty = sum(1 for r in res.values() if len(r.get("body") or "") < 20)
        rows.append(
            [
                n,
                f"{seconds[n] / per_page * 1000:.1f}",
                f"{sum(key(r.get('title')) == key(lab_['title']) for lab_, r in lab)}/{len(lab)}",
                f"{sum((r.get('published') or '')[:10] == lab_['published'][:10] for lab_, r in dated)}/{len(dated)}",
                f"{sum(minute(r) == lab_['published'] for lab_, r in timed)}/{len(timed)}",
                (
                    f"{sum(key(r.get('source')) == key(lab_['source']) for lab_, r in src)}/{len(src)}"
                    if n == "hzwatch"
                    else "n/a"
                ),
                f"{sum(key(r.get('author')) == key(lab_['author']) for lab_, r in auth)}/{len(auth)}",
                f"{chrome}/{len(pages)}",
                f"{empty}/{len(pages)}",
            ]
        )
    head = ["extractor", "ms/page", "title", "date(day)", "date(min)", "来源", "author", "chrome", "no body"]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    print(f"{len(pages)} pages, {len(labels)} hand-labelled ({args.labels.name})")
    for line in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)))
    print(
        f"parse floor (lxml.html.fromstring alone, same pages, same run): {floor / per_page * 1000:.2f} ms/page; "
        f"hzwatch {seconds['hzwatch'] / per_page * 1000:.2f} ms/page; "
        f"ratio {seconds['hzwatch'] / floor:.2f} (target <= 3)"
    )


if __name__ == "__main__":
    main()
