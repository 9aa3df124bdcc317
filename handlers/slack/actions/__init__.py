"""Buttons on the job card, in the thread and on the Home tab's job lines. Each acts on the job in its
value; a second click on something already done answers so instead of doing it twice."""

from __future__ import annotations

from functools import partial

from slack_bolt import App

from bot.ids import TEMPLATE_PICKER, JobAction
from handlers.slack import forms, steps
from handlers.slack.actions import email, jobs


def register(app: App) -> None:
    windows = {
        JobAction.PARSE: forms.parse_window,
        JobAction.REVIEW: forms.pending_review_window,
        JobAction.TEMPLATE: forms.template_window,
        JobAction.APPROVAL: forms.approval_window,
        JobAction.RECORD_APPROVAL: forms.record_approval_window,
        JobAction.SKIP_APPROVAL: forms.record_approval_window,
        JobAction.EXPORT: forms.export_window,
    }
    for action_id, opener in windows.items():
        app.action(action_id)(partial(jobs.open_window, opener=opener))
    app.action(JobAction.PROOFS)(partial(jobs.do, step=steps.start_proofs))
    app.action(JobAction.PREFLIGHT)(partial(jobs.do, step=steps.start_preflight))
    app.action(JobAction.COMPLETE)(partial(jobs.do, step=steps.complete))
    app.action(JobAction.RESTORE)(partial(jobs.do, step=steps.restore))
    app.action(JobAction.SHOW)(jobs.show)
    app.action(JobAction.EDIT_ITEM)(partial(jobs.open_window, opener=jobs.item_window))
    app.action(TEMPLATE_PICKER)(jobs.template_chosen)
    app.action(JobAction.EMAIL_LINK)(email.email_link)
