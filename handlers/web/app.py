"""The one web app: health check, Slack endpoint and the customer approval pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.installations import Installations
from handlers.web import approval, slack_install
from handlers.web.slack_endpoint import slack_endpoint
from pipeline.core.runtime import Runtime
from pipeline.services.health import queue_status

if TYPE_CHECKING:
    from slack_bolt import App


def create_web_app(
    runtime: Runtime,
    bolt_app: App | None = None,
    installs: Installations | None = None,
    *,
    roles: Sequence[str] = ("web",),
    slack_status: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """`installs` (the installable Slack app) adds /slack/install and /slack/oauth_redirect; `roles`: what
    this process runs (for /healthz); `slack_status`: how its Slack side is (mode, and in Socket Mode
    whether the link is up: a process Slack cannot reach is not healthy)."""

    async def healthz(request: Request) -> JSONResponse:
        ok = await run_in_threadpool(runtime.db.ping)
        body: dict[str, Any] = {"status": "ok", "database": "reachable" if ok else "unreachable"}
        if slack_status is not None:
            slack = slack_status()
            body["slack"] = slack
            ok = ok and slack.get("link", "up") == "up"
        body["roles"] = list(roles)
        body["queue"] = await run_in_threadpool(queue_status, runtime)
        ok = ok and body["queue"]["reachable"]
        body["status"] = "ok" if ok else "degraded"
        return JSONResponse(body, status_code=200 if ok else 503)

    routes = [Route("/healthz", healthz, methods=["GET"]), approval.mount(runtime)]
    if bolt_app is not None:
        secret = runtime.settings.slack_signing_secret
        endpoint = slack_endpoint(bolt_app, secret.get_secret_value() if secret else None)
        routes.append(Route("/slack/events", endpoint, methods=["POST"]))
    if installs is not None:
        routes.extend(slack_install.routes(runtime, installs))
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
