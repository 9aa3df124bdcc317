"""The customer approval page: `/approve/<token>` and its forms, proof images and assets.

Each route reads the request, calls one use case of `pipeline/services/customer.py` and answers with a page
(plain forms and 303 redirects, so everything works with JavaScript off) or, when the page's script
asks for JSON, with fresh HTML fragments to swap in place. Security headers and CSRF tokens are in
`security`, the page cache in `page_cache`, the flash texts in `flash`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from handlers.web import previews
from handlers.web.clients import client_address, trusted_networks
from handlers.web.compression import StaticAssets
from handlers.web.flash import Flash, flash_for
from handlers.web.forms import parse_shown, read_form, shown_value, small_int
from handlers.web.page_cache import PageCache, cached_response
from handlers.web.rendering import ICON, STATIC_DIR, asset_versions, build_templates
from handlers.web.security import CsrfSigner, SecurityHeaders
from pipeline.approval.decisions import NOTE_LIMIT, AlreadyDecided, ApprovalClosed, StaleProof
from pipeline.approval.links import LinkUnavailable
from pipeline.approval.page import ItemView, PageState, PageView, build_page, proof_file_path
from pipeline.core.errors import InvalidInput, NotFound
from pipeline.core.ratelimit import Limit, RateLimits
from pipeline.core.runtime import Runtime
from pipeline.services import customer
from storage.db import UNAVAILABLE

log = logging.getLogger(__name__)
WORKER_THREADS = 6
# a long page is first drawn with this many cards, the rest added by the script a block at a time
FIRST_CARDS = 5


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# ---- the routes --------------------------------------------------------------------------------


class ApprovalPages:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.files_dir = settings.files_dir
        window = settings.approval_rate_window_s
        self.limits = RateLimits(runtime.db)
        self.per_link = Limit("link", settings.approval_rate_limit, window)
        # unknown links: per client, and in all (many addresses guessing together)
        self.guesses = Limit("guess", settings.approval_guess_limit, window)
        self.all_guesses = Limit("guess-all", settings.approval_guess_limit * 20, window)
        self.proxies = trusted_networks(settings.trusted_proxies)
        self.csrf = CsrfSigner(settings.data_dir)
        self.env = build_templates()
        versions = asset_versions()
        self.env.globals["asset_version"] = versions
        self.env.globals["sharp_sizes"] = self._sharp_sizes
        self.parts = self.env.get_template("approval/_parts.html")
        self._pages = PageCache()
        self._workers = anyio.CapacityLimiter(WORKER_THREADS)

    # -- helpers

    def _sharp_sizes(self, item: ItemView) -> list[tuple[int, int]]:
        """The pixel sizes of the item's sharp previews that the page can offer (see `previews`)."""
        if not item.png_path:
            return []
        return previews.sharp_sizes(proof_file_path(self.files_dir, item.png_path), item.png_size)

    async def _run(self, func: Callable[..., Any], *args: Any) -> Any:
        """Database work and rendering off the event loop, a few at a time: with many clients a short
        queue is fairer (and faster at p95) than dozens of threads taking turns at the GIL."""
        return await anyio.to_thread.run_sync(func, *args, limiter=self._workers)

    def _base(self, request: Request) -> str:
        return request.scope.get("root_path", "")

    def _html(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        root = self._base(request)
        html = self.env.get_template(f"approval/{name}").render(root=root, **context)
        return HTMLResponse(html, status_code=status)

    def neutral(self, request: Request) -> Response:
        """The one answer for unknown, malformed, expired, revoked and replaced links. Each counts as a
        guess of the client's (429 once it guessed too often, or everyone together did)."""
        client = client_address(request, self.proxies)
        wait = self.limits.hit((self.guesses, client), (self.all_guesses, "*"))
        if wait is not None:
            log.warning("approval link guesses over the limit (%s)", "this client or all clients")
            return self._too_many(request, wait)
        message = "This link isn't available. Please contact the shop that sent it to you."
        if _wants_json(request):
            return JSONResponse({"ok": False, "message": message}, status_code=404)
        return self._html(request, "unavailable.html", 404)

    def _notice(
        self, request: Request, status: int, title: str, message: str, back: str | None = None
    ) -> Response:
        if _wants_json(request):
            return JSONResponse({"ok": False, "message": message}, status_code=status)
        return self._html(request, "notice.html", status, title=title, message=message, back=back)

    async def _neutral(self, request: Request) -> Response:
        return await self._run(self.neutral, request)

    async def _limited(self, request: Request) -> Response | None:
        """The 429 page when this link was asked for too often (every client together), else None."""
        token = str(request.path_params.get("token", ""))
        wait = await self._run(self.limits.hit, (self.per_link, token))
        return None if wait is None else self._too_many(request, wait)

    def _too_many(self, request: Request, wait: float) -> Response:
        retry = str(math.ceil(wait))
        if _wants_json(request):
            response: Response = JSONResponse(
                {"ok": False, "message": "Too many requests. Please wait a few minutes and try again."},
                status_code=429,
            )
        else:
            minutes = max(1, math.ceil(wait / 60))
            response = self._html(request, "too_many.html", 429, minutes=minutes)
        response.headers["Retry-After"] = retry
        return response

    def _page_url(self, request: Request, token: str, anchor: int | None = None, **query: Any) -> str:
        params = urlencode({k: v for k, v in query.items() if v not in (None, "")})
        url = f"{self._base(request)}/{token}" + (f"?{params}" if params else "")
        return url + (f"#item-{anchor}" if anchor else "")

    def _state(self, token: str) -> PageState | None:
        """The page's data; logs the customer's view (at most every 10 minutes per link)."""
        return customer.page_state(self.runtime, token)

    def _load(self, token: str) -> PageView | None:
        state = self._state(token)
        return build_page(state, files_dir=self.files_dir) if state is not None else None

    def _context(self, request: Request, token: str, view: PageView) -> dict[str, Any]:
        return {
            "view": view,
            "base": f"{self._base(request)}/{token}",
            "csrf": self.csrf.token(view.link_id),
            "shown": shown_value(view),
        }

    def _macros(self, request: Request) -> dict[str, Any]:
        """The macros of `_parts.html` by name (Jinja sets them on the module as it renders it)."""
        return vars(self.parts.make_module({"root": self._base(request)}))

    def _fragments(
        self, request: Request, token: str, view: PageView, item_id: int | None, flash: Flash | None = None
    ) -> dict[str, str]:
        ctx = self._context(request, token, view)
        macros = self._macros(request)
        out = {
            "intro": str(macros["intro"](view)),
            "progress": str(macros["progress"](view)),
            "bulk": str(macros["bulk"](view, ctx["base"], ctx["shown"])),
            "summary": str(macros["summary"](view)),
        }
        item = next((i for i in view.items if i.id == item_id), None)
        if item is not None:
            shown = flash if flash is not None and flash.item_id == item.id else None
            out["card"] = str(macros["card"](view, item, ctx["base"], ctx["csrf"], shown))
        return out

    # -- GET /approve/<token>

    async def show(self, request: Request) -> Response:
        if response := await self._limited(request):
            return response
        return await self._run(self._show, request, request.path_params["token"])

    def _show(self, request: Request, token: str) -> Response:
        state = self._state(token)
        if state is None:
            return self.neutral(request)
        q = request.query_params
        if q.get("all"):  # the page whole at once (the script did not run: see `items` in _parts.html)
            return self._page(request, token, build_page(state, files_dir=self.files_dir), first=0)
        if not q.get("m"):
            return self._cached_page(request, token, state)
        view = build_page(state, files_dir=self.files_dir)
        flash = flash_for(
            q["m"], view, small_int(q.get("i")), small_int(q.get("a")) or 0, small_int(q.get("s")) or 0
        )
        return self._page(request, token, view, flash)

    def _cached_page(self, request: Request, token: str, state: PageState) -> Response:
        """The page as last drawn for this link, unless anything it shows has changed since."""

        def draw() -> bytes:
            view = build_page(state, files_dir=self.files_dir)
            return bytes(self._page(request, token, view).body)

        page = self._pages.page((state.link_id, self._base(request)), state.fingerprint, draw)
        return cached_response(request, page)

    def _page(
        self,
        request: Request,
        token: str,
        view: PageView,
        flash: Flash | None = None,
        status: int = 200,
        error: tuple[int, str, str] | None = None,
        first: int = FIRST_CARDS,
    ) -> HTMLResponse:
        ctx = self._context(request, token, view)
        in_card = flash is not None and any(i.id == flash.item_id for i in view.items)
        top = None if in_card else flash
        if in_card or error:
            first = 0  # the card with the message or the error field is drawn at once, to take the focus
        return self._html(
            request, "page.html", status, flash=flash, flash_top=top, error=error, first=first, **ctx
        )

    # -- GET /approve/<token>/proof/<item>/<version>.png

    async def proof(self, request: Request) -> Response:
        token = request.path_params["token"]
        item_id, version = request.path_params["item_id"], request.path_params["version"]
        sharp = request.path_params.get("sharp")
        if sharp is not None and sharp not in previews.SHARP_WIDTHS:
            return await self._neutral(request)
        wait, png = await self._run(self._proof, token, item_id, version, sharp)
        if wait is not None:
            return self._too_many(request, wait)
        if png is None:
            return await self._neutral(request)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})

    def _proof(
        self, token: str, item_id: int, version: int, sharp: int | None
    ) -> tuple[float | None, bytes | None]:
        """(seconds to wait, None) when the link was asked for too often, else (None, the image or None
        when the link may not show it). One trip off the event loop: a page of 100 proofs asks 100
        times, and each trip costs the web process more than reading a small file."""
        # Only refused image requests count against the limit: a page of 100 proofs must not use up
        # a customer's allowance, while guessing through image URLs is counted like any other guess.
        if (wait := self.limits.over(self.per_link, token)) is not None:
            return wait, None
        path = customer.proof_file(self.runtime, token, item_id, version)
        if path is not None and sharp:
            path = previews.sharp_preview(path, sharp) or path
        try:
            return None, path.read_bytes() if path is not None else None
        except FileNotFoundError:  # the proof was replaced since it was looked up
            return None, None

    # -- POST /approve/<token>/items/<item>

    async def _posted(self, request: Request, token: str) -> Response | dict[str, str]:
        """The checks every decision passes first (rate limit, a live link, a form of sane size, the
        CSRF token): the form, or the page that refuses it."""
        if response := await self._limited(request):
            return response
        link_id = await self._run(self._link_id, token)
        if link_id is None:
            return await self._neutral(request)
        form = await read_form(request)
        if form is None:
            return self._too_large(request, token)
        if not self.csrf.check(link_id, form.get("csrf")):
            return self._csrf_failed(request, token)
        return form

    async def decide(self, request: Request) -> Response:
        token, item_id = request.path_params["token"], request.path_params["item_id"]
        form = await self._posted(request, token)
        if isinstance(form, Response):
            return form
        version = small_int(form.get("version"))
        decision, note = form.get("decision", ""), form.get("note")
        return await self._run(self._decide, request, token, item_id, version or 0, decision, note)

    def _link_id(self, token: str) -> int | None:
        return customer.link_id(self.runtime, token)

    def _decide(
        self, request: Request, token: str, item_id: int, version: int, decision: str, note: str | None
    ) -> Response:
        code, status = "approved" if decision == "approve" else "changed", 200
        try:
            customer.decide(self.runtime, token, item_id, version, decision, note)
        except LinkUnavailable:
            return self.neutral(request)
        except NotFound as exc:
            return self._notice(request, 404, "Not part of this order", exc.message, back=token)
        except InvalidInput as exc:
            return self._invalid(request, token, item_id, exc, note)
        except StaleProof:
            code, status = "stale", 409
        except AlreadyDecided:
            code, status = "decided", 409
        except ApprovalClosed:
            code, status = "closed", 409
        if not _wants_json(request):
            # to the card's message: browsers focus a focusable fragment target (so it is read out)
            # and scroll to it again as the page loads; autofocus alone would scroll once, as soon
            # as the message is parsed, where a half-loaded page may leave it partly out of view
            url = self._page_url(request, token, m=code, i=item_id)
            return RedirectResponse(f"{url}#result-{item_id}", status_code=303)
        view = self._fresh(token)
        if view is None:
            return self.neutral(request)
        flash = flash_for(code, view, item_id)
        body = {
            "ok": status == 200,
            "level": flash.level if flash else "info",
            "message": flash.text if flash else "",
        }
        body.update(self._fragments(request, token, view, item_id, flash))
        return JSONResponse(body, status_code=status)

    def _fresh(self, token: str) -> PageView | None:
        return customer.fresh_page(self.runtime, token)

    def _invalid(
        self, request: Request, token: str, item_id: int, exc: InvalidInput, note: str | None
    ) -> Response:
        field = "note" if "note" in exc.errors else next(iter(exc.errors), "")
        message = exc.errors.get(field, exc.message)
        if _wants_json(request):
            return JSONResponse({"ok": False, "field": field, "message": message}, status_code=422)
        view = self._fresh(token)
        if view is None:
            return self.neutral(request)
        if field != "note":
            return self._notice(request, 400, "Something went wrong", message, back=token)
        draft = (note or "")[:NOTE_LIMIT]
        return self._page(request, token, view, status=422, error=(item_id, message, draft))

    def _too_large(self, request: Request, token: str) -> Response:
        return self._notice(
            request,
            413,
            "That was too much text",
            "Your message was too long to send. Please shorten your note and try again.",
            back=token,
        )

    def _csrf_failed(self, request: Request, token: str) -> Response:
        return self._notice(
            request,
            403,
            "Please try again",
            "This form was out of date or incomplete. Please go back to your proofs and try again.",
            back=token,
        )

    # -- GET and POST /approve/<token>/approve-all

    async def confirm_all(self, request: Request) -> Response:
        if response := await self._limited(request):
            return response
        token = request.path_params["token"]
        view = await self._run(self._load, token)
        if view is None:
            return await self._neutral(request)
        shown = parse_shown(request.query_params.get("shown"))
        ready = [i for i in view.remaining if shown.get(i.id) == i.proof_version]
        changed = [i for i in view.remaining if shown.get(i.id) != i.proof_version]
        if view.stage != "open" or not ready:
            return RedirectResponse(
                self._page_url(request, token, m="closed" if view.stage != "open" else ""), 303
            )
        ctx = self._context(request, token, view)
        ctx["shown"] = ",".join(f"{i.id}:{i.proof_version}" for i in ready)
        return self._html(request, "confirm_all.html", ready=ready, changed=changed, **ctx)

    async def approve_all(self, request: Request) -> Response:
        token = request.path_params["token"]
        form = await self._posted(request, token)
        if isinstance(form, Response):
            return form
        shown = parse_shown(form.get("shown"))
        if form.get("confirm") != "yes":
            url = f"{self._base(request)}/{token}/approve-all?{urlencode({'shown': form.get('shown', '')})}"
            return RedirectResponse(url, status_code=303)
        return await self._run(self._approve_all, request, token, shown)

    def _approve_all(self, request: Request, token: str, shown: Mapping[int, int]) -> Response:
        approved = stale = 0
        code, status = "all", 200
        try:
            result = customer.approve_all(self.runtime, token, shown)
        except LinkUnavailable:
            return self.neutral(request)
        except ApprovalClosed:
            code, status = "closed", 409
        except AlreadyDecided:
            code, status = "busy", 409
        else:
            approved, stale = len(result.approved), len(result.stale)
        if not _wants_json(request):
            return RedirectResponse(self._page_url(request, token, m=code, a=approved, s=stale), 303)
        view = self._fresh(token)
        if view is None:
            return self.neutral(request)
        flash = flash_for(code, view, None, approved, stale)
        ctx = self._context(request, token, view)
        body: dict[str, Any] = {
            "ok": status == 200,
            "level": flash.level if flash else "info",
            "message": flash.text if flash else "",
            **self._fragments(request, token, view, None),
            "items": str(self._macros(request)["items"](view, ctx["base"], ctx["csrf"])),
        }
        return JSONResponse(body, status_code=status)

    async def item_get(self, request: Request) -> Response:
        """A reload of a form's address (after a refused note) lands back on the page."""
        if response := await self._limited(request):
            return response
        token, item_id = request.path_params["token"], request.path_params["item_id"]
        return RedirectResponse(self._page_url(request, token, item_id), status_code=303)

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        """The database is away for a moment (a restart): say so, instead of a bare 500."""
        log.warning("approval page without its database: %s", type(exc).__name__)
        what = "Your choice could not be saved" if request.method == "POST" else "The proofs can't be shown"
        response = self._notice(
            request, 503, "Back in a minute", f"{what} right now. Please try again in a minute."
        )
        response.headers["Retry-After"] = "30"
        return response

    async def not_found(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code != 404:
            return self._notice(request, exc.status_code, "Not available", "This page can't do that.")
        return await self._neutral(request)


async def icon(request: Request) -> Response:
    return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def create_approval_app(runtime: Runtime) -> ASGIApp:
    pages = ApprovalPages(runtime)
    routes = [
        Route("/static/{name}", StaticAssets(STATIC_DIR).serve, methods=["GET"]),
        Route("/icon.svg", icon, methods=["GET"]),
        Route("/{token}", pages.show, methods=["GET"]),
        Route("/{token}/items/{item_id:int}", pages.decide, methods=["POST"]),
        Route("/{token}/items/{item_id:int}", pages.item_get, methods=["GET"]),
        Route("/{token}/approve-all", pages.confirm_all, methods=["GET"]),
        Route("/{token}/approve-all", pages.approve_all, methods=["POST"]),
        Route("/{token}/proof/{item_id:int}/{version:int}.png", pages.proof, methods=["GET"]),
        Route("/{token}/proof/{item_id:int}/{version:int}.w{sharp:int}.png", pages.proof, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: pages.not_found,
            **dict.fromkeys(UNAVAILABLE, pages.unavailable),  # the database away for a moment
        },
    )
    app.state.pages = pages
    return SecurityHeaders(app)


def mount(runtime: Runtime) -> Mount:
    """The approval pages under `/approve`, for the one web app."""
    return Mount("/approve", app=create_approval_app(runtime))
