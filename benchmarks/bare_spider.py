"""A bare Scrapy spider that only fetches a given list of requests: the baseline for bench_crawl.

No parsing, no extraction, no storage, politeness off. It reads JSON lines
`{"method": "GET", "url": "http://127.0.0.1:PORT/host/path?query", "body": "..."}` (body optional)
and prints one JSON line: pages fetched, seconds (spider open to close), pages/s, statuses.

    python benchmarks/bare_spider.py --urls urls.jsonl [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, requests_spec: list[dict], **kw):
        super().__init__(**kw)
        self.requests_spec = requests_spec
        self.statuses: Counter = Counter()
        self.pages = 0
        self.opened = self.closed_at = 0.0

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_open, signal=signals.spider_opened)
        crawler.signals.connect(spider._on_close, signal=signals.spider_closed)
        return spider

    def _on_open(self, spider):
        self.opened = time.perf_counter()

    def _on_close(self, spider, reason):
        self.closed_at = time.perf_counter()

    async def start(self):
        for spec in self.requests_spec:
            yield self._request(spec)

    def start_requests(self):  # Scrapy < 2.13
        for spec in self.requests_spec:
            yield self._request(spec)

    def _request(self, spec: dict) -> scrapy.Request:
        body = spec.get("body")
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else None
        return scrapy.Request(
            spec["url"],
            method=spec.get("method") or "GET",
            body=body,
            headers=headers,
            callback=self.parse,
            errback=self.failed,
            dont_filter=True,
        )

    def parse(self, response):
        # Touch the body so the bytes are really received and decoded into a response.
        self.pages += 1
        self.statuses[str(response.status)] += 1
        _ = len(response.body)

    def failed(self, failure):
        self.pages += 1
        self.statuses[type(failure.value).__name__] += 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--urls", required=True, help="JSON lines file of requests")
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args(argv)
    with open(args.urls, encoding="utf-8") as fh:
        specs = [json.loads(line) for line in fh if line.strip()]
    process = CrawlerProcess(
        settings={
            "LOG_LEVEL": "ERROR",
            "ROBOTSTXT_OBEY": False,
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "COOKIES_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "RETRY_ENABLED": False,
            # The replayed list already holds every hop of a redirect chain.
            "REDIRECT_ENABLED": False,
            "HTTPERROR_ALLOW_ALL": True,
            "DOWNLOAD_TIMEOUT": 30,
        }
    )
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, requests_spec=specs)
    process.start()
    spider = crawler.spider
    seconds = max(spider.closed_at - spider.opened, 1e-9)
    print(
        json.dumps(
            {
                "pages": spider.pages,
                "requested": len(specs),
                "seconds": round(seconds, 3),
                "pages_per_s": round(spider.pages / seconds, 1),
                "statuses": dict(spider.statuses),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
