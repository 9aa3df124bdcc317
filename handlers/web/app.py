"""The one web app: health check, Slack endpoint and the customer approval pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from handlers.web import approval
from handlers.web.slack_endpoint import slack_endpoint
from pipeline.core.runtime import Runtime

if TYPE_CHECKING:
    from slack_bolt import App


def create_web_app(runtime: Runtime, bolt_app: App | None = None) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        ok = await run_in_threadpool(runtime.db.ping)
        body = {"status": "ok" if ok else "degraded", "database": "reachable" if ok else "unreachable"}
        return JSONResponse(body, status_code=200 if ok else 503)

    routes = [Route("/healthz", healthz, methods=["GET"]), approval.mount(runtime)]
    if bolt_app is not None:
        secret = runtime.settings.slack_signing_secret
        endpoint = slack_endpoint(bolt_app, secret.get_secret_value() if secret else None)
        routes.append(Route("/slack/events", endpoint, methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app
