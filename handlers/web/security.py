"""What keeps the customer's page safe: security headers on every answer, CSRF tokens for its forms,
and the deployment secret those tokens are signed with (a file made once, readable only by its owner)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.core.keys import secret_file

CSRF_KEY_FILE = "approval-csrf.key"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Wraps the whole approval app, so every answer (errors included) carries the headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith(f"{scope.get('root_path', '')}/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                if "cache-control" not in headers:
                    # assets are addressed by content hash (?v=…); everything else is private
                    headers["Cache-Control"] = "public, max-age=31536000, immutable" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CsrfSigner:
    """CSRF tokens for the approval forms: HMAC-SHA256 of the link id under a deployment secret.

    The secret lives in `<data dir>/approval-csrf.key` (made once, mode 0600), so every process that
    shares the data folder agrees and a restart keeps open pages working. No cookie is needed: a page
    on another site can neither read the token nor compute it, and a new link gets a new token.
    """

    def __init__(self, data_dir: Path) -> None:
        self.secret = secret_file(data_dir / CSRF_KEY_FILE)

    def token(self, link_id: int) -> str:
        return hmac.new(self.secret, f"approval-form:{link_id}".encode(), hashlib.sha256).hexdigest()

    def check(self, link_id: int, candidate: str | None) -> bool:
        given = str(candidate or "").encode("utf-8", "replace")  # typed text may be any characters
        return bool(candidate) and hmac.compare_digest(self.token(link_id).encode(), given)
