"""Replica HTTP server: every target site family on one 127.0.0.1 port, routed by the real hostname.

URL scheme: http://127.0.0.1:PORT/<real host>/<real path>, e.g.
http://127.0.0.1:PORT/hznews.hangzhou.com.cn/xinzheng/index.htm. Pages carry the REAL links, so a
crawler started with `--remap HOST=BASE/HOST` (one per host) stays in real-URL space.
Control endpoints live under /__replica__/ (requests, reset, publish, articles, info, config).
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import badcases, render
from .model import Site
from .responses import Raw, Resp

HZ_LIST = re.compile(r"^/(\w+)/index(?:_(\d+))?\.htm$")
ZJ_LIST = re.compile(r"^/zjnews/hznews/index(?:_(\d+))?\.shtml$")
GOV_COL = re.compile(r"^/col/col(\d+)/(?:index\.html)?$")
EPAPER = re.compile(
    r"^/(\w+)/(\d{4})/(\d{2})/(\d{2})/(page_list|page_detail|page_view|article_list|article_detail)_"
    r"(?:(\d+)_)?(\d{8})([A-Z]\d{2})?(\d+)?\.html$"
)
EPAPER_PDF = re.compile(r"^/(\w+)/page/\d+/(\d{4})-(\d{2})/(\d{2})/[A-Z]\d{2}/\d{8}[A-Z]\d{2}_pdf\.pdf$")


def _flat(qs: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in qs.items()}


class App:
    """Routes (host, path) to a response; owns the model, request log and trap state."""

    def __init__(self, site: Site, hang_seconds: float | None = None, rate_limit_nth: int | None = None):
        self.site = site
        cfg = site.cfg
        self.hz_host = cfg["hznews"]["host"]
        self.ep_host = cfg["epaper"]["host"]
        self.zj_host = cfg["zjol"]["host"]
        self.gov_hosts = cfg["gov"]["hosts"]
        self.hosts = [self.hz_host, *self.gov_hosts, self.ep_host, self.zj_host]
        self.hang_seconds = float(badcases.corpus()["hang_seconds"] if hang_seconds is None else hang_seconds)
        self.rate_limit_nth = rate_limit_nth
        self.stop = threading.Event()
        self.log: list[dict] = []
        self.log_lock = threading.Lock()
        self.hits: dict[tuple[str, str], int] = {}
        # (host, path) -> [answers left, status]: a page that fails for a while, then recovers
        self.outages: dict[tuple[str, str], list[int]] = {}

    # ---- control ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Clear the request log (trap counters keep counting: see set_rate_limit)."""
        with self.log_lock:
            self.log.clear()

    def set_rate_limit(self, nth: int) -> None:
        """Serve the throttle page on the nth request to a rate-limited list from now on (0 = never)."""
        with self.log_lock:
            self.rate_limit_nth = nth
            self.hits.clear()

    def fail_page(self, host: str, path: str, times: int, status: int = 503) -> None:
        """Answer the next `times` requests for host+path with `status` (a server error), then recover."""
        with self.log_lock:
            self.outages[(host, path)] = [times, status]

    def _outage(self, host: str, path: str) -> Resp | None:
        with self.log_lock:
            left = self.outages.get((host, path))
            if not left or left[0] <= 0:
                return None
            left[0] -= 1
            return Resp(left[1], b"<html><body><h1>Service Unavailable</h1></body></html>", "text/html")

    def record(self, entry: dict) -> None:
        with self.log_lock:
            self.log.append(entry)

    def requests(self, host: str | None = None) -> list[dict]:
        with self.log_lock:
            return [e for e in self.log if host is None or e["host"] == host]

    def articles(self) -> list[dict]:
        """Ground truth: every article's real URL, family, title and date."""
        return [
            {
                "url": f"https://{a.host}{a.path}",
                "family": a.family,
                "host": a.host,
                "where": a.where,
                "title": a.title,
                "date": a.date.isoformat(sep=" "),
                "pages": a.pages,
                "plan": a.plan,
                "encoding": a.encoding,
            }
            for a in self.site.all_articles()
            if not a.pinned
        ]

    # ---- routing ------------------------------------------------------------------------------
    def route(self, method: str, host: str, path: str, query: dict, form: dict) -> Resp | Raw:
        if path == "/robots.txt":
            robots = self.site.cfg["robots"]
            return Resp(200, robots.get(host, robots["default"]).encode(), "text/plain")
        failing = self._outage(host, path)
        if failing is not None:
            return failing
        if host == self.hz_host:
            return self.hznews(path, query)
        if host in self.gov_hosts:
            return self.gov(method, host, path, query, form)
        if host == self.ep_host:
            return self.epaper(path)
        if host == self.zj_host:
            return self.zjol(path)
        return Resp(404, b"<html><body><h1>404 Not Found</h1>unknown host</body></html>")

    def _article(self, host: str, path: str) -> Resp | None:
        hit = self.site.paths.get((host, path))
        if hit is None:
            return None
        a, page = hit
        if a.family == "hznews":
            return Resp(
                200, render.hznews_article(self.site, a, page).encode(), "text/html", lastmod=a.date.timestamp()
            )
        if a.family == "gov":
            return Resp(200, render.gov_article(self.site, a).encode(), "text/html", lastmod=a.date.timestamp())
        if a.family == "epaper":
            return Resp(200, render.epaper_article(self.site, a).encode(), "text/html; charset=UTF-8")
        ctype = "text/html; charset=utf-8" if a.encoding == "utf-8" or a.wrong_header else "text/html"
        return Resp(200, render.zjol_article(self.site, a), ctype)

    def _list(self, html: str | None, key: str, ctype: str = "text/html") -> Resp | None:
        if html is None:
            return None
        return Resp(200, html.encode(), ctype, conditional=True, lastmod=self.site.version(key)[1])

    def hznews(self, path: str, query: dict) -> Resp | Raw:
        site = self.site
        hz = site.cfg["hznews"]
        if path in ("/", "/index.htm"):
            arts = [a for lst in site.hz_lists.values() for a in lst[:5]]
            return self._list(
                render.hznews_list(site, arts, 1, 100, lambda p: "/", "杭州新闻", self.hz_host, "/"), "hznews"
            )
        resp = self._article(self.hz_host, path)
        if resp:
            return resp
        if path == badcases.corpus()["list"]:
            return Resp(200, badcases.index_html(site).encode(), "text/html")
        case = badcases.find(path)
        if case:
            return badcases.respond(site, case, path, query, self.hang_seconds, self.stop)
        m = HZ_LIST.match(path)
        if m and m.group(1) in site.hz_lists:
            ch = m.group(1)
            page = int(m.group(2) or 0) + 1
            resp = self._list(
                render.hznews_list(
                    site,
                    site.hz_lists[ch],
                    page,
                    hz["per_page"],
                    lambda p: "index.htm" if p == 1 else f"index_{p - 1}.htm",
                    hz["channels"][ch],
                    self.hz_host,
                    f"/{ch}",
                ),
                f"hznews:{ch}",
            )
            if resp:
                return resp
        for node in hz["nodes"]:
            m = re.match(re.escape(node["path"]) + r"(?:_(\d+))?\." + node["ext"] + "$", path)
            if m:
                stem = node["path"].rsplit("/", 1)[1]
                resp = self._list(
                    render.hznews_list(
                        site,
                        site.node_list(node),
                        int(m.group(1) or 1),
                        node["per_page"],
                        lambda p, stem=stem, ext=node["ext"]: f"{stem}.{ext}" if p == 1 else f"{stem}_{p}.{ext}",
                        node["name"],
                        self.hz_host,
                        node["path"].rsplit("/", 1)[0],
                    ),
                    f"hznews:{node['channel']}",
                )
                if resp:
                    return resp
        return Resp(
            404,
            "<html><head><title>404错误信息</title></head><body><p>对不起，您要访问的页面不存在。</p></body></html>".encode(),
        )

    def gov(self, method: str, host: str, path: str, query: dict, form: dict) -> Resp:
        site = self.site
        h = self.gov_hosts[host]
        resp = self._article(host, path)
        if resp:
            return resp
        m = GOV_COL.match(path)
        if m and (host, m.group(1)) in site.columns:
            col = m.group(1)
            c = site.columns[(host, col)]
            rl = h.get("rate_limit")
            if rl and path == rl["path"]:
                nth = rl["nth"] if self.rate_limit_nth is None else self.rate_limit_nth
                with self.log_lock:
                    n = self.hits[(host, path)] = self.hits.get((host, path), 0) + 1
                if nth and n == nth:
                    return Resp(200, render.tpl("gov_ratelimit.html").template.encode(), "text/html")
            if "paramJson" in query and (c.get("jpaas_param") or c["list"] == "jpaas"):
                return self._jpaas(host, col, query)
            page = int(query.get("pageNum", "1") or 1) if query.get("uid") else 1
            return self._list(render.gov_column(site, host, col, page), f"gov:{host}:{col}") or self._gov404()
        if path in ("/module/jpage/dataproxy.jsp", "/module/web/jpage/dataproxy.jsp"):
            args = {**query, **form}
            col = args.get("columnid", "")
            if (host, col) not in site.columns or str(args.get("webid", "")) != str(h["webid"]):
                # real JCMS answers requests it cannot validate with an empty datastore, not an error
                return Resp(200, b'<?xml version="1.0" encoding="UTF-8"?>\n<datastore></datastore>\n', "text/xml")
            try:
                start, end = int(args.get("startrecord", 1)), int(args.get("endrecord", 45))
                per = int(args.get("perpage", 15))
            except ValueError:
                return Resp(400, b"bad paging parameters", "text/plain")
            return Resp(200, render.gov_dataproxy(site, host, col, start, end, per).encode(), "text/xml")
        if path == "/api-gateway/jpaas-publish-server/front/page/build/unit":
            query = {**query, **form}  # GET query, or a POST form / JSON body
            col = query.get("pageId", "")
            if (host, col) not in site.columns:
                return Resp(
                    200, b'{"success":false,"code":404,"message":"page not found","data":null}', "application/json"
                )
            return self._jpaas(host, col, query)
        if path in h.get("js_shell_paths", []):
            return Resp(200, render.js_shell(h["webname"]).encode(), "text/html")
        if path in ("/", "/index.html"):
            links = "".join(f'<li><a href="/col/col{c["col"]}/index.html">{c["name"]}</a></li>' for c in h["columns"])
            return Resp(
                200,
                f"<html><head><meta charset='utf-8'><title>{h['webname']}</title></head><body><ul>{links}</ul></body></html>".encode(),
                "text/html",
            )
        return self._gov404()

    def _gov404(self) -> Resp:
        return Resp(
            404,
            b"<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center></body></html>",
        )

    def _jpaas(self, host: str, col: str, query: dict) -> Resp:
        try:
            params = json.loads(query.get("paramJson") or "{}") or {
                k: query[k] for k in ("pageNo", "pageSize") if k in query
            }
            page, size = int(params.get("pageNo", 1)), int(params.get("pageSize", 10))
        except (ValueError, TypeError, AttributeError):
            return Resp(
                200, b'{"success":false,"code":400,"message":"paramJson invalid","data":null}', "application/json"
            )
        body = render.gov_jpaas(self.site, host, col, max(page, 1), max(min(size, 100), 1))
        return self._list(body, f"gov:{host}:{col}", "application/json")

    def epaper(self, path: str) -> Resp:
        site = self.site
        hit = self._article(self.ep_host, path)
        if hit:
            return hit
        m = EPAPER.match(path)
        pdf = EPAPER_PDF.match(path)
        if pdf and (pdf.group(1), "".join(pdf.groups()[1:4])) in site.issues:
            return Resp(200, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog>>endobj\n%%EOF\n", "application/pdf")
        if not m or m.group(1) not in site.cfg["epaper"]["papers"]:
            return self._ep404(404)
        paper, y, mo, d, kind, pid, ymd, code, seq = m.groups()
        pages = site.issues.get((paper, ymd))
        if ymd != f"{y}{mo}{d}":
            return self._ep404(404)
        if pages is None:
            st = site.cfg["epaper"]["missing_day_status"]["even" if int(d) % 2 == 0 else "odd"]
            return self._ep404(st)
        if kind == "page_list":
            return self._list(render.epaper_page_list(site, paper, ymd, pages), f"epaper:{paper}")
        if kind == "article_detail" or code is None:
            return self._ep404(404)
        html = render.epaper_page(site, paper, ymd, pages, code, kind)
        return self._list(html, f"epaper:{paper}") if html else self._ep404(404)

    def _ep404(self, status: int) -> Resp:
        return Resp(status, render.epaper_404().encode(), "text/html; charset=UTF-8")

    def zjol(self, path: str) -> Resp:
        hit = self._article(self.zj_host, path)
        if hit:
            return hit
        m = ZJ_LIST.match(path)
        if m:
            resp = self._list(render.zjol_list(self.site, int(m.group(1) or 0) + 1), "zjol", "text/html; charset=utf-8")
            if resp:
                return resp
        return Resp(
            404,
            "<html><head><title>404</title></head><body>页面不存在</body></html>".encode(),
            "text/html; charset=utf-8",
        )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    # headers and body leave in one segment (flushed per request): without this, keep-alive clients
    # stall on Nagle + delayed ACK (about 40 ms per response)
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def log_message(self, *args):  # the request log replaces stderr noise
        pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def _handle(self, method: str) -> None:
        app: App = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        segs = parts.path.split("/", 2)
        host = segs[1] if len(segs) > 1 else ""
        path = "/" + (segs[2] if len(segs) > 2 else "")
        query = _flat(parse_qs(parts.query, keep_blank_values=True))
        if host == "__replica__":
            return self._control(app, method, path, query, raw_body)
        form = {}
        ctype = self.headers.get("Content-Type") or ""
        if raw_body and "form-urlencoded" in ctype:
            form = _flat(parse_qs(raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        elif raw_body and "json" in ctype:  # jpaas pages may POST their unit parameters as JSON
            try:
                data = json.loads(raw_body)
                form = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
            except (ValueError, AttributeError):
                form = {}
        entry = {
            "t": time.time(),
            "method": method,
            "host": host,
            "path": path + (f"?{parts.query}" if parts.query else ""),
            "headers": dict(self.headers.items()),
            "status": 0,
            "bytes": 0,
        }
        try:
            resp = app.route(method, host, unquote(path), query, form)
        except Exception as exc:  # a replica bug must show up as a 500 in the log, not kill the thread
            resp = Resp(500, f"replica error: {exc!r}".encode(), "text/plain")
        if isinstance(resp, Raw):
            entry["status"] = resp.fn(self)
            app.record(entry)
            return
        self._send(resp, method, entry, app)

    def _send(self, resp: Resp, method: str, entry: dict, app: App) -> None:
        headers = list(resp.headers)
        status = resp.status
        body = resp.body
        if resp.conditional and status == 200:
            etag = '"' + hashlib.md5(body).hexdigest()[:20] + '"'
            lastmod = int(resp.lastmod or 0)
            headers += [("ETag", etag), ("Last-Modified", email.utils.formatdate(lastmod, usegmt=True))]
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            not_modified = False
            if inm is not None:
                not_modified = etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
            elif ims:
                try:
                    not_modified = email.utils.parsedate_to_datetime(ims).timestamp() >= lastmod
                except (TypeError, ValueError):
                    pass
            if not_modified:
                status, body = 304, b""
        elif resp.lastmod and status == 200:
            headers.append(("Last-Modified", email.utils.formatdate(int(resp.lastmod), usegmt=True)))
        # logged before the body goes out, so a client that has its response also finds it in the log
        entry["status"], entry["bytes"] = status, len(body)
        app.record(entry)
        try:
            self.send_response(status)
            if resp.ctype and status != 304:
                self.send_header("Content-Type", resp.ctype)
            for k, v in headers:
                self.send_header(k, v)
            if status not in (204, 304):
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD" and status not in (204, 304):
                self.wfile.write(body)
        except OSError:  # client gave up (timeouts, size limits): nothing to do
            self.close_connection = True

    def _control(self, app: App, method: str, path: str, query: dict, body: bytes) -> None:
        srv = self.server.replica
        if path == "/requests":
            out = app.requests(query.get("host"))
        elif path == "/reset" and method == "POST":
            app.reset()
            out = {"ok": True}
        elif path == "/publish" and method == "POST":
            try:
                made = app.site.publish(int(query.get("n", "1")), query.get("target", "hznews"))
            except ValueError as exc:
                return self._json(400, {"error": str(exc)})
            out = [{"url": f"https://{a.host}{a.path}", "title": a.title, "family": a.family} for a in made]
        elif path == "/fail" and method == "POST":
            app.fail_page(query["host"], query["path"], int(query.get("times", "1")), int(query.get("status", "503")))
            out = {"ok": True}
        elif path == "/articles":
            out = app.articles()
        elif path == "/info":
            out = {
                "base_url": srv.base_url,
                "remap": srv.remap_args(),
                "hosts": app.hosts,
                "articles": len(app.articles()),
                "badcases": len(badcases.corpus()["cases"]),
            }
        elif path == "/config" and method == "POST":
            if "rate_limit_nth" in query:
                app.set_rate_limit(int(query["rate_limit_nth"]))
            if "hang_seconds" in query:
                app.hang_seconds = float(query["hang_seconds"])
            out = {"rate_limit_nth": app.rate_limit_nth, "hang_seconds": app.hang_seconds}
        else:
            return self._json(404, {"error": "unknown control endpoint"})
        self._json(200, out)

    def _json(self, status: int, obj) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # clients that give up (timeouts, size limits, killed crawls) are part of the job, not errors
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class ReplicaServer:
    """A running replica on 127.0.0.1 (background thread)."""

    def __init__(self, site: Site, port: int = 0, hang_seconds: float | None = None, rate_limit_nth: int | None = None):
        self.app = App(site, hang_seconds, rate_limit_nth)
        self.httpd = _Server(("127.0.0.1", port), Handler)
        self.httpd.app = self.app
        self.httpd.replica = self
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread: threading.Thread | None = None

    @property
    def site(self) -> Site:
        return self.app.site

    @property
    def hosts(self) -> list[str]:
        return list(self.app.hosts)

    def url(self, real_url: str) -> str:
        """Local URL for a real one: https://host/path -> BASE/host/path."""
        parts = urlsplit(real_url)
        return f"{self.base_url}/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def remap_args(self) -> list[str]:
        """`HOST=BASE/HOST` for every served host (give each to hzwatch crawl --remap)."""
        return [f"{h}={self.base_url}/{h}" for h in self.app.hosts]

    def requests(self, host: str | None = None) -> list[dict]:
        return self.app.requests(host)

    def reset(self) -> None:
        """Clear the request log."""
        self.app.reset()

    def set_rate_limit(self, nth: int) -> None:
        """The nth request (from now) to the hrss column page gets the 200 throttle page; 0 = never."""
        self.app.set_rate_limit(nth)

    def publish(self, n: int, target: str = "hznews") -> list[str]:
        """Add n new articles on top of target's lists; returns their real URLs."""
        return [f"https://{a.host}{a.path}" for a in self.app.site.publish(n, target)]

    def fail_page(self, real_url: str, times: int, status: int = 503) -> None:
        """The next `times` requests for this page get `status`, then it is served again."""
        parts = urlsplit(real_url)
        self.app.fail_page(parts.netloc, parts.path, times, status)

    def articles(self) -> list[dict]:
        return self.app.articles()

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def start(self) -> "ReplicaServer":
        self.thread = threading.Thread(target=self.serve_forever, name=f"replica-{self.port}", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.app.stop.set()  # wakes hanging bad-case handlers
        self.httpd.shutdown()
        self.httpd.server_close()


def start(
    articles: int | None = None,
    seed: int = 0,
    port: int = 0,
    hang_seconds: float | None = None,
    rate_limit_nth: int | None = None,
) -> ReplicaServer:
    """Build the site model and serve it from a background thread.

    articles: generated articles added to content.yaml (None = sites.yaml default_generated, 0 = none).
    hang_seconds: how long the hanging bad cases stall. rate_limit_nth: which request to the hrss column
    gets the 200-status throttle page (0 = never; None = sites.yaml).
    """
    return ReplicaServer(Site(articles, seed), port, hang_seconds, rate_limit_nth).start()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m replica.server", description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--articles", type=int, default=None, help="generated articles (default: sites.yaml)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hang-seconds", type=float, default=None)
    p.add_argument("--rate-limit-nth", type=int, default=None)
    a = p.parse_args(argv)
    srv = ReplicaServer(Site(a.articles, a.seed), a.port, a.hang_seconds, a.rate_limit_nth)
    print(
        json.dumps({"base_url": srv.base_url, "remap": srv.remap_args(), "hosts": srv.hosts}, ensure_ascii=False),
        flush=True,
    )
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.app.stop.set()
        srv.httpd.server_close()


if __name__ == "__main__":
    main(sys.argv[1:])
