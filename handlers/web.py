"""The one web app: health check, Slack endpoint and the customer approval pages."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pipeline.runtime import Runtime


def create_web_app(runtime: Runtime) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        ok = await run_in_threadpool(runtime.db.ping)
        body = {"status": "ok" if ok else "degraded", "database": "reachable" if ok else "unreachable"}
        return JSONResponse(body, status_code=200 if ok else 503)

    app = Starlette(routes=[Route("/healthz", healthz, methods=["GET"])])
    app.state.runtime = runtime
    return app
