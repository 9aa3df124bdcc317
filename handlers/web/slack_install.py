"""The installable app's doors: `/slack/install` (an "Add to Slack" page linking to Slack's
`oauth/v2/authorize` with the manifest's scopes) and `/slack/oauth_redirect` (where Slack sends the
installer back with a code), both run by Bolt's OAuth flow on the app's own installation and state
stores. A workspace that installs becomes a shop: its workspace record is made (named after the Slack
team) and the person who installed it is its first member, so its owner.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.installations import (
    ROTATE_BEFORE_MIN,
    STATE_TTL_S,
    Installations,
    SignedStateStore,
    authorize_url,
    manifest_scopes,
)
from bot.slack_app import make_client
from handlers.web.clients import client_address, trusted_networks
from handlers.web.rendering import build_templates
from pipeline.core.ratelimit import Limit, RateLimits
from pipeline.core.runtime import Runtime
from pipeline.services import members

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the redirect's address carries the one-time code
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}
FAILURES = {
    "access_denied": "The installation was cancelled in Slack, so nothing was installed.",
    "invalid_browser": (
        "This browser did not start the installation (or its cookie expired), so it cannot finish it."
    ),
    "invalid_state": "This installation link has expired or was already used.",
    "missing_code": "Slack did not send an authorization code back.",
    "invalid_code": "Slack did not accept the authorization code (it may have expired).",
    "storage_error": "The installation could not be stored; nothing was changed.",
    "org_wide": (
        "CraftStage installs workspace by workspace: install it to each workspace of the organization "
        "rather than to the whole organization."
    ),
}
_TEMPLATES = build_templates()
# each visit to the install page stores a state for 10 minutes: a client (and everyone together) may
# start only so many installs in that time
INSTALLS_PER_CLIENT = Limit("install", 30, STATE_TTL_S)
INSTALLS_IN_ALL = Limit("install_all", 1000, STATE_TTL_S)


def _page(title: str, lines: list[str], *, link: str | None = None, link_text: str = "") -> str:
    return _TEMPLATES.get_template("slack/page.html").render(
        title=title, lines=lines, link=link, link_text=link_text
    )


class InstallFlow(OAuthFlow):
    """Bolt's OAuth flow with the shop's own install page."""

    def build_install_page_html(self, url: str, request: BoltRequest) -> str:
        return _page(
            "Add CraftStage to Slack",
            [
                "CraftStage takes a personalization shop from a customer's order to a laser-ready file, "
                "driven from Slack. Each workspace that installs it is a shop of its own.",
                "Slack will ask you to allow it into your workspace; whoever installs it becomes the "
                "shop's owner.",
            ],
            link=url,
            link_text="Add to Slack",
        )


def install_flow(runtime: Runtime, installs: Installations) -> InstallFlow:
    settings = runtime.settings
    assert settings.slack_client_secret is not None and settings.slack_state_secret is not None
    base = settings.public_base_url.rstrip("/")

    def success(args: SuccessArgs) -> BoltResponse:
        return _installed(runtime, installs, args)

    def failure(args: FailureArgs) -> BoltResponse:
        log.warning("a Slack installation did not finish: %s", args.reason)
        text = FAILURES.get(args.reason, "The installation did not finish.")
        html = _page("Not installed", [text], link=f"{base}{INSTALL_PATH}", link_text="Start again")
        return _html(args.suggested_status_code, html, args)

    oauth = OAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=manifest_scopes(),
        redirect_uri=f"{base}{REDIRECT_PATH}",
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        callback_options=CallbackOptions(success=success, failure=failure),
        authorization_url=authorize_url(settings.slack_api_url),
        installation_store=installs.store,
        installation_store_bot_only=True,
        token_rotation_expiration_minutes=ROTATE_BEFORE_MIN,
        state_store=SignedStateStore(settings.slack_state_secret.get_secret_value(), runtime),
        state_expiration_seconds=STATE_TTL_S,
        logger=log,
    )
    return InstallFlow(client=make_client(runtime), logger=log, settings=oauth)


def _installed(runtime: Runtime, installs: Installations, args: SuccessArgs) -> BoltResponse:
    installation = args.installation
    team_id = installation.team_id
    if installation.is_enterprise_install or not team_id:
        installs.store.delete_installation(enterprise_id=installation.enterprise_id, team_id=None)
        installs.store.delete_bot(enterprise_id=installation.enterprise_id, team_id=None)
        log.warning("refused an organization-wide installation (%s)", installation.enterprise_id)
        return _failure_page(args, "org_wide", 400)
    who, unnamed = members.enrol(runtime, team_id, installation.user_id, "")
    if unnamed and installation.team_name:
        members.name_workspace(runtime, who.ws_id, team_id, installation.team_name)
    installs.installed(team_id, installation.team_name)
    runtime.notifier.job_changed(0, "installed")  # whatever waited for this workspace goes out
    html = _page(
        "CraftStage is installed",
        [
            f"CraftStage is now part of {installation.team_name or 'your workspace'}.",
            "In Slack, type /job channel in the channel where job cards and alerts should go, then /job new "
            "to start your first job.",
        ],
    )
    return _html(200, html, args)


def _failure_page(args: SuccessArgs, reason: str, status: int) -> BoltResponse:
    html = _page("Not installed", [FAILURES[reason]])
    return _html(status, html, args)


def _html(status: int, html: str, args: Any) -> BoltResponse:
    headers: dict[str, Any] = {"Content-Type": "text/html; charset=utf-8"}
    # the state cookie has done its work: the browser forgets it
    headers["Set-Cookie"] = [args.settings.state_utils.build_set_cookie_for_deletion()]
    return BoltResponse(status=status, body=html, headers=headers)


def routes(runtime: Runtime, installs: Installations) -> list[Route]:
    """The install page and Slack's redirect back (GET only)."""
    flow = install_flow(runtime, installs)
    limits = RateLimits(runtime.db)
    proxies = trusted_networks(runtime.settings.trusted_proxies)

    async def install(request: Request) -> Response:
        client = client_address(request, proxies)
        wait = await run_in_threadpool(limits.hit, (INSTALLS_PER_CLIENT, client), (INSTALLS_IN_ALL, "*"))
        if wait is not None:
            log.warning("Slack install page requests over the limit (this client or all clients)")
            page = _page(
                "Too many attempts", ["Too many installations were started. Please try again later."]
            )
            response: Response = HTMLResponse(page, status_code=429, headers={"Retry-After": str(int(wait))})
            response.headers.update(PAGE_HEADERS)
            return response
        return await _run(flow.handle_installation, request)

    async def oauth_redirect(request: Request) -> Response:
        return await _run(flow.handle_callback, request)

    return [
        Route(INSTALL_PATH, install, methods=["GET"]),
        Route(REDIRECT_PATH, oauth_redirect, methods=["GET"]),
    ]


async def _run(step: Any, request: Request) -> Response:
    bolt_request = BoltRequest(body="", query=request.url.query, headers=dict(request.headers))
    # the flow talks to the database and to Slack: off the event loop
    response = to_starlette_response(await run_in_threadpool(step, bolt_request))
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
    return response
