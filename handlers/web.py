"""The one web app: health check, Slack endpoint and the customer approval pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers import approval
from pipeline.runtime import Runtime

if TYPE_CHECKING:
    from slack_bolt import App


def create_web_app(runtime: Runtime, bolt_app: App | None = None) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        ok = await run_in_threadpool(runtime.db.ping)
        body = {"status": "ok" if ok else "degraded", "database": "reachable" if ok else "unreachable"}
        return JSONResponse(body, status_code=200 if ok else 503)

    routes = [Route("/healthz", healthz, methods=["GET"]), approval.mount(runtime)]
    if bolt_app is not None:
        routes.append(Route("/slack/events", _slack_endpoint(bolt_app), methods=["POST"]))
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    return app


def _slack_endpoint(bolt_app: App):  # type: ignore[no-untyped-def]
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

    async def slack_events(request: Request) -> Response:
        body = await request.body()
        # Bolt's dispatch is synchronous (it returns once the listener acked): keep it off the event loop
        bolt_response = await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    return slack_events
