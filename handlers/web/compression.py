"""Compressed answers for the approval page: the browser's Accept-Encoding picks brotli, gzip or
nothing, and every answer that could differ says `Vary: Accept-Encoding`. The static files (CSS, JS)
are read and compressed once, when the app starts."""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

ENCODINGS = ("br", "gzip")  # in the order we prefer them


def accepted_encoding(header: str) -> str | None:
    """The encoding to answer with for an Accept-Encoding header ("br" before "gzip"; q=0 refuses)."""
    accepted: dict[str, float] = {}
    for part in header.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name:
            accepted[name.strip()] = q
    for enc in ENCODINGS:
        if accepted.get(enc, accepted.get("*", 0.0)) > 0:
            return enc
    return None


@dataclass(frozen=True)
class Encoded:
    """One body, plain and compressed both ways."""

    plain: bytes
    br: bytes
    gzip: bytes

    @classmethod
    def of(cls, data: bytes, *, br_quality: int = 11, gzip_level: int = 9) -> Encoded:
        return cls(data, brotli.compress(data, quality=br_quality), gzip.compress(data, gzip_level))

    def response(self, request: Request, media_type: str, headers: dict[str, str] | None = None) -> Response:
        enc = accepted_encoding(request.headers.get("accept-encoding", ""))
        out = {"Vary": "Accept-Encoding", **(headers or {})}
        if enc is None:
            return Response(self.plain, media_type=media_type, headers=out)
        out["Content-Encoding"] = enc
        return Response(self.br if enc == "br" else self.gzip, media_type=media_type, headers=out)


@dataclass(frozen=True)
class StaticFile:
    body: Encoded
    media_type: str
    etag: str


class StaticAssets:
    """The files of one folder, compressed once; served by name, with an ETag."""

    def __init__(self, folder: Path) -> None:
        self.files: dict[str, StaticFile] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file():
                data = path.read_bytes()
                media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                if media.startswith("text/") or media.endswith("javascript"):
                    media += "; charset=utf-8"
                etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
                self.files[path.name] = StaticFile(Encoded.of(data), media, etag)

    async def serve(self, request: Request) -> Response:
        found = self.files.get(str(request.path_params.get("name", "")))
        if found is None:
            return Response("Not found", status_code=404, media_type="text/plain")
        if request.headers.get("if-none-match") == found.etag:
            return Response(status_code=304, headers={"ETag": found.etag, "Vary": "Accept-Encoding"})
        return found.body.response(request, found.media_type, {"ETag": found.etag})
