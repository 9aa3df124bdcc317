"""Downloads only from Slack: a file a person uploaded through a modal, fetched with the bot token.

Nothing in the submitted payload is trusted but the file id. The file is looked up with `files.info`
(which answers only for files the app can see), must belong to the request's workspace and to the
person who submitted it, and is fetched from the URL Slack gives there, which must be https on
files.slack.com (or, for a stand-in Slack, the host of SLACK_API_URL). The bot token goes nowhere else:
redirects are not followed, and the body is read only up to the size limit.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

import httpx
from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack.context import runtime_of, tenant_of_request, who_of
from pipeline.core.errors import InvalidInput
from pipeline.core.settings import SLACK_API_DEFAULT

log = logging.getLogger(__name__)

SLACK_FILES_HOST = "files.slack.com"
FILE_ID = re.compile(r"^F[A-Z0-9]{2,40}$")
_AGAIN = "the file could not be downloaded from Slack; try uploading it again"


def trusted_url(url: Any, api_url: str = SLACK_API_DEFAULT) -> bool:
    """Whether the bot token may be sent to `url`: https://files.slack.com/…, or a stand-in Slack's
    own scheme, host and port (SLACK_API_URL pointing somewhere other than slack.com)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.username or parts.password:
        return False
    if parts.scheme == "https" and parts.hostname == SLACK_FILES_HOST and port in (None, 443):
        return True
    api = urlsplit(api_url)
    if api.hostname in (None, "slack.com"):
        return False
    return (parts.scheme, parts.hostname, port) == (api.scheme, api.hostname, api.port)


def fetch(
    client: WebClient,
    submitted: Any,
    field: str,
    extensions: tuple[str, ...],
    limit: int,
    *,
    team_id: str,
    user_id: str,
    api_url: str,
) -> tuple[bytes, str]:
    """(bytes, name) of the file `submitted` (a modal's file object) names, or InvalidInput on `field`."""
    file_id = submitted.get("id") if isinstance(submitted, dict) else None
    if not isinstance(file_id, str) or not FILE_ID.match(file_id):
        raise InvalidInput({field: "that is not a file uploaded to Slack; upload it again"})
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        log.info("files.info refused %s: %s", file_id, exc.response.get("error"))
        raise InvalidInput({field: "Slack does not show that file to CraftStage; upload it again"}) from None
    if not isinstance(info, dict) or info.get("user_team") != team_id or info.get("user") != user_id:
        raise InvalidInput({field: "that file was not uploaded by you in this workspace; upload it here"})
    name = str(info.get("name") or "upload")
    if not name.lower().endswith(extensions):
        raise InvalidInput({field: f"{name} is not a {' / '.join(extensions)} file"})
    if int(info.get("size") or 0) > limit:
        raise InvalidInput({field: f"the file is over {limit / 1_000_000:g} MB"})
    url = info.get("url_private_download") or info.get("url_private")
    if not isinstance(url, str) or not trusted_url(url, api_url):
        log.warning("refused to send the bot token to a file URL outside Slack (file %s)", file_id)
        raise InvalidInput({field: "Slack gave a download address outside Slack; upload the file again"})
    return _get(url, client.token or "", field, limit), name


def download(
    client: WebClient, file: Any, field: str, extensions: tuple[str, ...], limit: int, context: BoltContext
) -> tuple[bytes, str]:
    """`fetch` for a file the person behind this request uploaded through a window."""
    return fetch(
        client,
        file,
        field,
        extensions,
        limit,
        team_id=tenant_of_request(context).team_id,
        user_id=who_of(context).actor.id,
        api_url=runtime_of(context).settings.slack_api_url,
    )


def _get(url: str, token: str, field: str, limit: int) -> bytes:
    chunks, size = [], 0
    try:
        with httpx.stream(
            "GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=30, follow_redirects=False
        ) as resp:
            if resp.status_code != 200 or resp.headers.get("content-type", "").startswith("text/html"):
                raise InvalidInput({field: _AGAIN})
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise InvalidInput({field: f"the file is over {limit / 1_000_000:g} MB"})
                chunks.append(chunk)
    except httpx.HTTPError:
        raise InvalidInput({field: _AGAIN}) from None
    return b"".join(chunks)
