"""Scrapy settings for hzwatch crawls: polite defaults, per-source overrides, `--fast` for tests."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapers.sources import Source

DEFAULT_USER_AGENT = (
    "hzwatch/0.1 (+news monitor for Hangzhou's 2024 theme-year plan; polite crawler; contact via HZWATCH_USER_AGENT)"
)

BASE = {
    "BOT_NAME": "hzwatch",
    "ROBOTSTXT_OBEY": True,
    "COOKIES_ENABLED": True,  # fgj sets a load-balancer cookie (SITES.md §2.7)
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    "DOWNLOAD_DELAY": 1.0,
    "DOWNLOAD_DELAY_JITTER": 0.5,
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 30.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "RETRY_ENABLED": True,
    "RETRY_TIMES": 2,
    "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408, 429],
    "DOWNLOAD_TIMEOUT": 30,
    # robots.txt and the first list page of a site not heard from yet: no retries, this timeout
    "HZWATCH_PROBE_TIMEOUT": 10,
    "DOWNLOAD_MAXSIZE": 8 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "HTTPERROR_ALLOW_ALL": True,  # spiders turn statuses into fetch_failures themselves
    "REDIRECT_ENABLED": True,
    "METAREFRESH_ENABLED": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "WARNING",
    "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    "DOWNLOADER_MIDDLEWARES": {
        "scrapers.middlewares.KnownUrlMiddleware": 60,
        "scrapers.middlewares.ConditionalRequestMiddleware": 560,
        "scrapers.middlewares.RetryBackoffMiddleware": 549,
        # above RetryMiddleware (550): a site that does not answer its first request ends the crawl
        "scrapers.middlewares.UnreachableSiteMiddleware": 555,
        "scrapers.middlewares.SizeLimitMiddleware": 580,
        # above RedirectMiddleware (600): sees the 3xx first and records loops / offsite targets
        "scrapers.middlewares.RedirectGuardMiddleware": 610,
        # last before the network: the request goes to the mapped URL, the response comes back real
        "scrapers.middlewares.RemapMiddleware": 990,
    },
    "ITEM_PIPELINES": {"scrapers.pipelines.StorePipeline": 300},
    "LOG_INSTALL_ROOT_HANDLER": False,
    # Scrapy's check re-reads and re-parses a callback's source whenever its cache misses, and bound
    # methods miss it every time: ~3 ms of CPU per response. A development aid, not a crawl need.
    "WARN_ON_GENERATOR_RETURN_VALUE": False,
    # Scrapy starts this many asyncio tasks per response to run its output through the pipeline;
    # StorePipeline is synchronous, so more than one only costs CPU (100 tasks per page by default).
    "CONCURRENT_ITEMS": 1,
    # Scrapy's byte counts per request and response (it serialises every request to measure it):
    # nothing reads them, the run row counts pages itself
    "DOWNLOADER_STATS": False,
    # Scrapy's own counters (every middleware and signal adds to them per request and response):
    # nothing reads them, the run row and fetch_failures are the crawl's record
    "STATS_CLASS": "scrapy.statscollectors.DummyStatsCollector",
    # no listening ports from a crawl process; no per-response stats signals (CoreStats) nor
    # periodic stats lines (LogStats) for counters nobody keeps
    "EXTENSIONS": {
        "scrapy.extensions.telnet.TelnetConsole": None,
        "scrapy.extensions.remote_control.RemoteControl": None,
        "scrapy.extensions.corestats.CoreStats": None,
        "scrapy.extensions.logstats.LogStats": None,
    },
    # depth is neither limited nor used for priority: the middleware only counted it, per request
    "SPIDER_MIDDLEWARES": {"scrapy.spidermiddlewares.depth.DepthMiddleware": None},
}

FAST = {
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_DELAY_JITTER": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "DOWNLOAD_TIMEOUT": 10,
    "RETRY_TIMES": 1,
    "HZWATCH_RETRY_BACKOFF": 0,
}


def user_agent() -> str:
    """User-Agent from $HZWATCH_USER_AGENT, else the descriptive default."""
    return os.environ.get("HZWATCH_USER_AGENT") or DEFAULT_USER_AGENT


def build(
    source: Source | None = None, *, fast: bool = False, remap: dict | None = None, extra: dict | None = None
) -> dict:
    """Settings for one source's crawler: BASE <- the source's politeness <- FAST (if asked) <- extra."""
    s = dict(BASE)
    s["USER_AGENT"] = user_agent()
    s["HZWATCH_RETRY_BACKOFF"] = 2.0
    if source is not None:
        pol = source.politeness
        if "delay" in pol:
            s["DOWNLOAD_DELAY"] = float(pol["delay"])
            s["AUTOTHROTTLE_START_DELAY"] = max(float(pol["delay"]), 0.5)
        if "concurrency" in pol:
            s["CONCURRENT_REQUESTS_PER_DOMAIN"] = int(pol["concurrency"])
        if "autothrottle" in pol:
            s["AUTOTHROTTLE_ENABLED"] = bool(pol["autothrottle"])
        if pol.get("user_agent"):
            s["USER_AGENT"] = pol["user_agent"]
    if fast:
        s.update(FAST)
    if os.environ.get("HZWATCH_PROBE_TIMEOUT"):
        s["HZWATCH_PROBE_TIMEOUT"] = float(os.environ["HZWATCH_PROBE_TIMEOUT"])
    s["HZWATCH_REMAP"] = dict(remap or {})
    s.update(extra or {})
    return s
