"""How a jpaas (new Hanweb JCMS) column page asks for its list unit, read from the page's scripts.

The live sites' exact scripts are unknown (SITES.md §2.5), so every plausible form is read: the
parameters as literals in the request call, in an object or in JavaScript variables (`var webId =
"3163"; … data: {webId: webId}`, `cfg.webId`), or in the URL's query string (also built by string
concatenation); single or double quotes, quoted or bare keys; `$.ajax`/`$.get`/`$.post`/`fetch`;
GET with a query, or POST with a form or a JSON body. Nothing here runs JavaScript: it is a
reader of literals and simple assignments, and says nothing (None) when it finds no jpaas call."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

# The unit parameters of a jpaas list request (SITES.md §2.5); paging goes in paramJson.
KEYS = ("parseType", "webId", "tplSetId", "pageType", "tagId", "editType", "pageId", "pageSize")
DEFAULTS = {"parseType": "bulidstatic", "pageType": "column", "tagId": "组配分类list", "editType": "null"}

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
_STRING = r"""(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`[^`]*`)"""
_VALUE = rf"(?P<v>{_STRING}|-?\d+(?:\.\d+)?|null|true|false|[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)"
# key: value (object members, bare or quoted keys) and name = value (assignments)
_MEMBER = re.compile(rf"""(?P<k>[A-Za-z_$][\w$]*|'[\w$]+'|"[\w$]+")\s*:\s*{_VALUE}""")
_ASSIGN = re.compile(rf"""(?:\b(?:var|let|const)\s+)?(?P<k>[A-Za-z_$][\w$.]*)\s*=(?!=)\s*{_VALUE}""")
_OBJECT = re.compile(r"""(?:\b(?:var|let|const)\s+)?([A-Za-z_$][\w$]*)\s*=\s*\{""")
_API = re.compile(rf"({_STRING})")
_CONCAT = re.compile(r"""[?&]([\w$]+)=['"]?\s*\+\s*([A-Za-z_$][\w$.]*)""")


@dataclass
class UnitCall:
    """The list unit request a jpaas column page makes, as read from its script."""

    url: str
    params: dict = field(default_factory=dict)
    method: str = "GET"
    body: str = "query"  # query | form | json
    paging: str = "paramJson"  # paramJson: {"pageNo","pageSize"} as one JSON string; flat: pageNo=…

    def request_args(self, page: int, size: int) -> tuple[str, str, dict, bytes | None]:
        """(method, url, headers, body) for page `page`."""
        data = {k: v for k, v in self.params.items() if k != "pageSize"}
        if self.paging == "flat":
            data.update(pageNo=page, pageSize=size)
        else:
            data["paramJson"] = json.dumps({"pageNo": page, "pageSize": size}, separators=(",", ":"))
        if self.method == "GET":
            return "GET", self.url + ("&" if "?" in self.url else "?") + urlencode(data), {}, None
        if self.body == "json":
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            return "POST", self.url, {"Content-Type": "application/json;charset=UTF-8"}, body
        body = urlencode(data).encode("ascii")
        return "POST", self.url, {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}, body


def _unquote(raw: str) -> str:
    if raw[:1] in "'\"`":
        raw = raw[1:-1]
        return re.sub(r"\\(.)", r"\1", raw)
    return raw


def _symbols(script: str) -> dict[str, str]:
    """name -> raw value of every simple assignment, and obj.key -> value of object literal members."""
    table: dict[str, str] = {}
    for m in _ASSIGN.finditer(script):
        table.setdefault(m["k"], m["v"])
    for m in _OBJECT.finditer(script):
        body = _braced(script, m.end() - 1)
        for mm in _MEMBER.finditer(body):
            table.setdefault(f"{m.group(1)}.{_unquote(mm['k'])}", mm["v"])
    return table


def _braced(text: str, start: int) -> str:
    """The text of the {...} block opening at `start` (strings are not special: good enough here)."""
    depth = 0
    for i in range(start, min(len(text), start + 20000)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start : i + 1]
    return text[start:]


def _resolve(raw: str | None, table: dict[str, str], depth: int = 0) -> str | None:
    """A literal's value; an identifier or obj.key followed through the assignments (None if unknown)."""
    if raw is None or depth > 5:
        return None
    if raw[:1] in "'\"`" or re.fullmatch(r"-?\d+(?:\.\d+)?", raw):
        return _unquote(raw)
    if raw in ("null", "true", "false"):
        return raw
    return _resolve(table.get(raw), table, depth + 1)


def _scripts(html: str) -> str:
    return "\n".join(body for attrs, body in _SCRIPT.findall(html) if "src=" not in attrs.lower())


def _api_url(script: str, table: dict[str, str]) -> str | None:
    for m in _API.finditer(script):
        value = _unquote(m.group(1))
        if "jpaas" in value or "/build/unit" in value:
            return value
    return None


def read_unit_call(html: str, page_url: str) -> UnitCall | None:
    """The column page's jpaas unit request, or None if its scripts make none."""
    script = _scripts(html)
    table = _symbols(script)
    api = _api_url(script, table)
    if api is None:
        return None
    found: dict[str, str] = {}
    query = urlsplit(api).query
    for k, v in parse_qsl(query, keep_blank_values=True):
        if v:
            found.setdefault(k, v)
    for k, ident in _CONCAT.findall(script):  # '...&webId=' + webId
        if (v := _resolve(ident, table)) is not None:
            found.setdefault(k, v)
    for m in _MEMBER.finditer(script):
        k = _unquote(m["k"])
        if k in KEYS and k not in found and (v := _resolve(m["v"], table)) is not None:
            found[k] = v
    for k in KEYS:
        if k not in found and (v := _resolve(table.get(k), table)) is not None:
            found[k] = v
    if "webId" not in found:
        return None
    params = {k: found.get(k, DEFAULTS.get(k)) for k in KEYS if found.get(k, DEFAULTS.get(k)) is not None}
    low = script.lower()
    post = bool(re.search(r"""\b(?:type|method)\s*:\s*['"]post['"]""", low) or "$.post(" in low)
    is_json = bool(
        re.search(r"json\.stringify\s*\(\s*\{[^}]*webid", low)
        or re.search(r"\b(?:data|body)\s*:\s*json\.stringify", low)
        or "application/json" in low
    )
    return UnitCall(
        url=urljoin(page_url, api.split("?")[0]),
        params=params,
        method="POST" if post else "GET",
        body="json" if post and is_json else "form" if post else "query",
        # the documented form is paramJson; pageNo as a key of its own only when the script says so
        paging="flat" if "pageno" in low and "paramjson" not in low else "paramJson",
    )
