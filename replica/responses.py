"""Response values the replica's routes return to the HTTP handler."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Resp:
    """A complete response. ctype is sent verbatim (gov pages deliberately omit the charset)."""

    status: int = 200
    body: bytes = b""
    ctype: str | None = "text/html"
    headers: list[tuple[str, str]] = field(default_factory=list)
    conditional: bool = False  # list pages: ETag / Last-Modified / 304
    lastmod: float | None = None


@dataclass
class Raw:
    """A response written by hand on the socket (hangs, broken transfers); fn returns the logged status."""

    fn: Callable[..., int]
