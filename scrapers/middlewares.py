"""Downloader middlewares: host remapping, conditional list requests, known-URL skipping,
retry back-off and size/type limits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Self
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from w3lib.url import safe_url_string

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler
    from scrapy.http import Response


def parse_remap(values: Iterable[object] | None) -> dict[str, str]:
    """['HOST=http://127.0.0.1:PORT/prefix', ...] -> {host: base URL without trailing slash}."""
    out: dict[str, str] = {}
    for v in values or []:
        host, sep, base = str(v).partition("=")
        host, base = host.strip().lower(), base.strip()
        if not sep or not host or "/" in host or not base.startswith(("http://", "https://")):
            raise ValueError(f"bad --remap {v!r}: expected HOST=http://ADDRESS[:PORT][/PREFIX]")
        out[host] = base.rstrip("/")
    return out


class RemapMiddleware:
    """Send requests for a remapped host to its base URL, and hand the response back under the real URL.

    The request object is re-pointed in place and restored on the way back, so link resolution,
    duplicate filtering and the stored URLs all keep the real host.
    """

    def __init__(self, mapping: dict[str, str]):
        # bases made safe once here: a mapped URL is then safe as built (see process_request)
        self.mapping = {host: safe_url_string(base) for host, base in mapping.items()}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mapping = crawler.settings.getdict("HZWATCH_REMAP")
        if not mapping:
            raise NotConfigured
        return cls(mapping)

    def _mapped(self, url: str) -> str | None:
        parts = urlsplit(url)
        base = self.mapping.get((parts.hostname or "").lower())
        if base is None:
            return None
        rest = parts.path or "/"
        if parts.query:
            rest += "?" + parts.query
        return base + rest

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if "_hz_real_url" in request.meta:
            return None
        target = self._mapped(request.url)
        if target:
            request.meta["_hz_real_url"] = request.url
            # the mapped base plus the path and query of a URL already made safe: _set_url's second
            # normalisation (w3lib) would change nothing
            request._url = target
        return None

    def _restore(self, request: Request) -> str | None:
        real = request.meta.pop("_hz_real_url", None)
        if real:
            # the URL the request had (normalised when it was made): put back as it was, not
            # normalised a second time by _set_url
            request._url = real
        return real

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        real = self._restore(request)
        if not real:
            return response
        location = response.headers.get(b"Location")
        if location:
            # a redirect to the replica's own address must point back at the real host
            loc = location.decode("latin-1")
            for host, base in self.mapping.items():
                if loc.startswith(base + "/") or loc == base:
                    scheme = urlsplit(real).scheme
                    response.headers[b"Location"] = f"{scheme}://{host}{loc[len(base) :] or '/'}".encode()
                    break
        # in place: the download handler's response is not shared yet, and a copy (replace) rebuilds
        # its headers and body for nothing
        response._set_url(real)
        response.request = request
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        self._restore(request)
        return None


class _SpiderAware:
    """Scrapy no longer passes the spider to middleware methods: take it from the crawler."""

    def __init__(self, crawler: Crawler | None = None):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _spider(self, spider: Spider | None = None) -> Spider | None:
        return spider if spider is not None else getattr(self.crawler, "spider", None)


class KnownUrlMiddleware(_SpiderAware):
    """Never download an article that is already stored (safety net behind the spiders' own check)."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        url = request.meta.get("article_url")
        spider = self._spider(spider)
        if (
            url
            and not request.meta.get("pages")
            and hasattr(spider, "article_is_known")
            and spider.article_is_known(url)
        ):
            raise IgnoreRequest(f"known article {url}")
        return None


class ConditionalRequestMiddleware(_SpiderAware):
    """Add If-None-Match / If-Modified-Since to list-page requests from the stored validators."""

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not request.meta.get("conditional"):
            return None
        state = getattr(self._spider(spider), "list_state", {}).get(request.url)
        if state:
            if state.get("etag"):
                request.headers.setdefault(b"If-None-Match", state["etag"].encode("latin-1"))
            if state.get("last_modified"):
                request.headers.setdefault(b"If-Modified-Since", state["last_modified"].encode("latin-1"))
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if request.meta.get("conditional") and response.status == 200:
            etag = response.headers.get(b"ETag")
            lm = response.headers.get(b"Last-Modified")
            request.meta["validators"] = {
                "etag": etag.decode("latin-1") if etag else None,
                "last_modified": lm.decode("latin-1") if lm else None,
            }
        return response


class RetryBackoffMiddleware:
    """Wait before a retried request: base * 2**(attempt-1) seconds (Scrapy retries without waiting)."""

    def __init__(self, base: float):
        self.base = base

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        base = crawler.settings.getfloat("HZWATCH_RETRY_BACKOFF", 0.0)
        if base <= 0:
            raise NotConfigured
        return cls(base)

    async def process_request(self, request: Request, spider: Spider | None = None) -> None:
        attempt = request.meta.get("retry_times", 0)
        if attempt and not request.meta.get("_hz_backed_off") == attempt:
            request.meta["_hz_backed_off"] = attempt
            # imported here: importing the reactor at module load would install the wrong one
            from scrapy.utils.defer import maybe_deferred_to_future
            from twisted.internet import reactor
            from twisted.internet.task import deferLater

            await maybe_deferred_to_future(deferLater(reactor, self.base * 2 ** (attempt - 1), lambda: None))
        return None


class UnreachableSiteMiddleware(_SpiderAware):
    """Fail fast when a source's site cannot be reached at all.

    Until the site has answered once in this crawl, its requests (robots.txt and the first list
    page) get the short HZWATCH_PROBE_TIMEOUT and no retries; a DNS failure, a refused connection or a
    timeout then ends the whole crawl at once (the spider's `unreachable`), instead of retrying every
    list page and article of a host that is not there. Sits above RetryMiddleware (550), so it sees
    the exception first."""

    def __init__(self, crawler: Crawler, probe_timeout: float):
        super().__init__(crawler)
        self.probe_timeout = probe_timeout
        self.answered: set[str] = set()
        self.dead: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getfloat("HZWATCH_PROBE_TIMEOUT", 10.0))

    def _site(self, request: Request, spider: Spider | None) -> str | None:
        """The request's host if it is the source's own site (other hosts never end the crawl)."""
        host = (urlsplit(request.meta.get("_hz_real_url") or request.url).hostname or "").lower()
        site = getattr(getattr(spider, "source", None), "site", None)
        return host if site and host == site.lower() else None

    def _site_answered(self, spider: Spider | None) -> bool:
        """The source's site has answered: nothing is left to do for any request (no URL parsing)."""
        site = getattr(getattr(spider, "source", None), "site", None)
        return bool(site) and site.lower() in self.answered

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        spider = self._spider(spider)
        if self._site_answered(spider):
            return None
        host = self._site(request, spider)
        if host is None or host in self.answered:
            return None
        if host in self.dead:
            raise IgnoreRequest(f"recorded: unreachable {host}")
        # (replaces the general timeout DownloadTimeoutMiddleware, 350, has set)
        request.meta["download_timeout"] = self.probe_timeout
        request.meta["dont_retry"] = True
        request.meta["_hz_probe"] = True
        return None

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        spider = self._spider(spider)
        if "_hz_probe" not in request.meta and self._site_answered(spider):
            return response
        host = self._site(request, spider)
        if host:
            self.answered.add(host)
            if request.meta.pop("_hz_probe", None):
                request.meta.pop("dont_retry", None)
        return response

    def process_exception(self, request: Request, exception: Exception, spider: Spider | None = None) -> None:
        spider = self._spider(spider)
        if self._site_answered(spider):
            return None
        host = self._site(request, spider)
        if host is None or host in self.answered or not hasattr(spider, "unreachable"):
            return None
        from scrapers.spiders.failures import network_reason

        reason = network_reason(exception)
        if reason is None:
            return None
        if host not in self.dead:
            self.dead[host] = reason
            real = request.meta.get("_hz_real_url") or request.url
            spider.unreachable(host, reason, real, str(exception)[:200])
        raise IgnoreRequest(f"recorded: unreachable {host}")


class SizeLimitMiddleware:
    """Refuse non-HTML payloads (attachments) and HTML over the size limit with a clear reason."""

    HTML_TYPES = (
        b"text/html",
        b"application/xhtml",
        b"text/xml",
        b"application/xml",
        b"application/json",
        b"text/plain",
        b"text/javascript",
        b"application/javascript",
    )

    def __init__(self, maxsize: int):
        self.maxsize = maxsize

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings.getint("DOWNLOAD_MAXSIZE"))

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        ctype = (response.headers.get(b"Content-Type") or b"").lower()
        if ctype and not any(t in ctype for t in self.HTML_TYPES) and response.status == 200:
            raise IgnoreRequest(f"not_html: {ctype.decode('latin-1')[:60]}")
        if self.maxsize and len(response.body) > self.maxsize:
            raise IgnoreRequest(f"too_large: {len(response.body)} bytes")
        return response


class RedirectGuardMiddleware(_SpiderAware):
    """Record redirects that go nowhere useful (loops, other hosts) as fetch failures.

    Sits just above Scrapy's RedirectMiddleware, which would otherwise drop them silently
    (the duplicate filter eats a redirect to itself, the offsite filter one to another host).
    """

    def process_response(self, request: Request, response: Response, spider: Spider | None = None) -> Response:
        if response.status not in (301, 302, 303, 307, 308) or b"Location" not in response.headers:
            return response
        spider = self._spider(spider)
        target = urljoin(request.url, response.headers[b"Location"].decode("latin-1").strip()).split("#")[0]
        chain = [*request.meta.get("redirect_urls", []), request.url]
        reason = None
        if hasattr(spider, "host_allowed") and not spider.host_allowed(target):
            reason = "redirect_offsite"
        elif target in chain or len(chain) > request.meta.get("redirect_max", 20):
            reason = "redirect_loop"
        if reason is None:
            return response
        first = chain[0]
        if hasattr(spider, "fail"):
            spider.fail(first, reason, f"-> {target}")
        raise IgnoreRequest(f"recorded: {reason} {first} -> {target}")
