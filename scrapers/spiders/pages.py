"""The other pages of a multi-page article (content_N_2.htm, the all-pages view content_N_0.htm)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urljoin

_HREF = re.compile(r"""href\s*=\s*["']([^"'#]+)["']""")
ALL_VIEW = re.compile(r"_0\.s?html?$")


def numbered_pages(text: str, url: str, pager_links: Iterable[str]) -> list[str]:
    """`pager_links` plus every link on the page to <article>_N.<ext>, the all-pages _0 view first."""
    found = list(pager_links)
    stem, dot, ext = url.split("?")[0].rpartition(".")
    if dot:
        # a plain suffix test instead of a regex compiled per page: <stem>_<digits>.<ext>
        head, tail = stem + "_", "." + ext
        # such a page's last path segment starts with head's, and joining keeps an href's last segment
        # (minus the tab, CR and LF characters urllib drops): an href without it is skipped before urljoin
        name = head.rsplit("/", 1)[1] if "/" in head and "/" not in tail else ""
        for href in _HREF.findall(text):
            href = href.strip()
            if not href.endswith(tail):  # joining keeps the end of the path: skip before urljoin
                continue
            if name not in href and name not in href.replace("\t", "").replace("\r", "").replace("\n", ""):
                continue
            absu = urljoin(url, href)
            if (
                absu.startswith(head)
                and absu.endswith(tail)
                and absu[len(head) : len(absu) - len(tail)].isdecimal()
                and absu not in found
            ):
                found.append(absu)
    found.sort(key=lambda u: 0 if ALL_VIEW.search(u) else 1)
    return found
