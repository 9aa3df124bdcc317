"""A shop in the end-to-end tests: one Slack workspace (team) with its people and production channel,
driving the served app through signed requests exactly as Slack would send them."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.server import ServedApp
from tests.standins.blockkit_limits import validate_view
from tests.standins.slack_api import FakeSlack
from tests.standins.slack_requests import (
    SlackClient,
    checkboxes_value,
    date_value,
    select_value,
    text_value,
)

ENTERPRISE_ID = "E0CRAFT001"  # one org-wide install of the app serves the organisation's workspaces
SENT_VIEW_KEYS = ("type", "callback_id", "title", "close", "submit", "blocks", "private_metadata")


@dataclass
class Person:
    user_id: str
    name: str


@dataclass
class Shop:
    app: ServedApp
    team_id: str
    domain: str
    channel: str
    owner: Person
    member: Person

    def __post_init__(self) -> None:
        self.slack: SlackClient = self.app.slack_client()

    @property
    def fake(self) -> FakeSlack:
        return self.app.fake

    def _who(self, person: Person | None) -> dict[str, str]:
        p = person or self.owner
        return {"team_id": self.team_id, "user_id": p.user_id, "user_name": p.name}

    def upload(self, name: str, content: bytes, **kwargs: Any) -> dict[str, Any]:
        """A file the shop's owner uploaded in this workspace (the app downloads only those)."""
        return self.fake.add_file(name, content, user=self.owner.user_id, team_id=self.team_id, **kwargs)

    # requests ------------------------------------------------------------------------------------
    def command(self, text: str, *, by: Person | None = None, channel: str | None = None) -> httpx.Response:
        resp = self.slack.slash_command(
            "/job", text, team_domain=self.domain, channel_id=channel or self.channel, **self._who(by)
        )
        assert resp.status_code == 200, resp.text
        return resp

    def click(self, action_id: str, value: str, *, by: Person | None = None, **kw: Any) -> None:
        resp = self.slack.block_actions(action_id, value, channel_id=self.channel, **self._who(by), **kw)
        assert resp.status_code == 200, resp.text

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, by: Person | None = None
    ) -> dict[str, Any]:
        resp = self.slack.view_submission(
            view["callback_id"],
            values=values,
            private_metadata=view["private_metadata"],
            view={"id": view["id"]},
            **self._who(by),
        )
        assert resp.status_code == 200, resp.text
        return resp.json() if resp.content else {}

    def wait_view(self, callback_id: str, *, by: Person | None = None, after: int = 0) -> dict[str, Any]:
        """The newest view with `callback_id` opened for this person (beyond the first `after` ones)."""
        user = (by or self.owner).user_id
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = self.fake.views(user=user, callback_id=callback_id)
            if len(found) > after:
                check_view(found[-1])
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"{self.team_id}: no view {callback_id} for {user}")

    def count_views(self, callback_id: str, *, by: Person | None = None) -> int:
        return len(self.fake.views(user=(by or self.owner).user_id, callback_id=callback_id))

    # what Slack shows ----------------------------------------------------------------------------
    def card(self, ref: str) -> dict[str, Any]:
        cards = [
            m
            for m in self.fake.messages(self.channel)
            if m.get("thread_ts") in (None, m["ts"]) and (m.get("text") or "").startswith(ref)
        ]
        assert len(cards) == 1, [m.get("text") for m in self.fake.messages(self.channel)]
        return cards[0]

    def thread(self, ref: str) -> list[dict[str, Any]]:
        return self.fake.posts_in_thread(self.channel, self.card(ref)["ts"])

    def thread_text(self, ref: str) -> str:
        return "\n".join(m.get("text") or "" for m in self.thread(ref))

    def wait_thread(self, ref: str, needle: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                text = self.thread_text(ref)
            except AssertionError:
                text = ""
            if needle in text:
                return text
            time.sleep(0.1)
        raise AssertionError(f"{self.team_id} {ref}: {needle!r} never appeared in the thread:\n{text}")

    # the shop's steps ----------------------------------------------------------------------------
    def create_job(self, *, name: str, email: str, reference: str, due: str) -> tuple[str, dict[str, Any]]:
        before = self.count_views("job_new")
        self.command("new")
        opened = self.wait_view("job_new", after=before)
        values = {
            "customer_name": {"value": text_value(name)},
            "customer_email": {"value": text_value(email)},
            "reference": {"value": text_value(reference)},
            "due_date": {"value": date_value(due)},
            "notes": {"value": text_value("Brass plates, same size as last season")},
        }
        answer = self.submit(opened, values)
        assert answer["response_action"] == "update", answer
        parse_view = answer["view"]
        check_view(parse_view)
        assert parse_view["callback_id"] == "job_parse"
        parse_view["id"] = opened["id"]
        return json.loads(parse_view["private_metadata"])["job"], parse_view

    def parse_and_review(self, parse_view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """Submit the order, wait for the review window, acknowledge flagged items: the template view."""
        before = self.count_views("job_review")
        answer = self.submit(parse_view, values)
        assert answer["response_action"] == "update" and answer["view"]["callback_id"] == "working", answer
        review = self.wait_view("job_review", after=before)
        flagged = [b for b in review["blocks"] if b.get("block_id", "").startswith("fix:")]
        values = {"ack": {"value": checkboxes_value("all")}} if flagged else {}
        answer = self.submit(review, values)
        assert answer["response_action"] == "update", answer
        template_view = answer["view"]
        template_view["id"] = review["id"]
        assert template_view["callback_id"] == "job_template"
        return template_view

    def choose_template(self, view: dict[str, Any], template: str, mapping: dict[str, str]) -> None:
        answer = self.submit(view, {"template": {"value": select_value(template)}})
        mapping_view = answer["view"]
        check_view(mapping_view)
        values: dict[str, Any] = {"template": {"value": select_value(template)}}
        for field, column in mapping.items():
            values[f"map:{field}"] = {"value": select_value(column)}
            values[f"tf:{field}"] = {"value": select_value("none")}
        mapping_view["id"] = view["id"]
        answer = self.submit(mapping_view, values)
        assert answer["response_action"] == "update" and answer["view"]["callback_id"] == "info", answer

    def approval_link(self, ref: str, *, days: str = "14") -> str:
        before = self.count_views("job_approval")
        self.click("job_approval", ref)
        opened = self.wait_view("job_approval", after=before)
        answer = self.submit(opened, {"expires_days": {"value": text_value(days)}})
        assert answer["view"]["callback_id"] == "info", answer
        text = self.wait_thread(ref, "/approve/")
        return next(line for line in text.split("\n") if "/approve/" in line).strip()

    def export(self, ref: str, fmt: str, mode: str = "curves") -> None:
        before = self.count_views("job_export")
        self.click("job_export", ref)
        opened = self.wait_view("job_export", after=before)
        profile = opened["blocks"][1]["element"]["options"][0]["value"]
        answer = self.submit(
            opened,
            {
                "profile": {"value": select_value(profile)},
                "format": {"value": select_value(fmt)},
                "mode": {"value": select_value(mode)},
            },
        )
        assert answer["view"]["callback_id"] == "info", answer


def check_view(view: dict[str, Any]) -> None:
    """What the app sent must be a view Slack accepts (not the fields Slack adds to its answer)."""
    assert validate_view({k: view[k] for k in SENT_VIEW_KEYS if k in view}) == []
