"""The approval page as last drawn for each link, plain, gzipped and brotli-compressed, redrawn only
when something it shows changed (its fingerprint). Compressing a page that holds a CSRF token is safe
here: nobody without the link can put text on it, and whoever has the link needs no attack to read the
token."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from handlers.web.compression import Encoded

PAGE_CACHE_SIZE = 64  # links whose last drawn page is kept (about 300 KB each at 100 items)
PAGE_BROTLI_QUALITY = 5  # pages are drawn again on every change: fast, and still smaller than gzip


@dataclass(frozen=True)
class CachedPage:
    fingerprint: str
    body: Encoded


class PageCache:
    def __init__(self, size: int = PAGE_CACHE_SIZE) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[int, str], CachedPage] = OrderedDict()
        self._lock = threading.Lock()

    def page(self, key: tuple[int, str], fingerprint: str, draw: Callable[[], bytes]) -> CachedPage:
        """The page kept under `key` if it still has `fingerprint`, else `draw()` kept in its place."""
        with self._lock:
            hit = self._pages.get(key)
        if hit is not None and hit.fingerprint == fingerprint:
            return hit
        hit = CachedPage(fingerprint, Encoded.of(draw(), br_quality=PAGE_BROTLI_QUALITY, gzip_level=6))
        with self._lock:
            self._pages[key] = hit
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return hit


def cached_response(request: Request, page: CachedPage) -> Response:
    """The page compressed the way the browser takes it (brotli, else gzip), else plain."""
    return page.body.response(request, "text/html; charset=utf-8")
