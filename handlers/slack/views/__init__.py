"""Window submissions: the job's steps and the `/template` windows, each a listener of its own."""

from __future__ import annotations

from slack_bolt import App

from bot.ids import CatalogView, JobView
from handlers.slack.views import catalog, jobs


def register(app: App) -> None:
    app.view(JobView.NEW_JOB)(jobs.new_job)
    app.view(JobView.EDIT_JOB)(jobs.edit_job)
    app.view(JobView.PARSE)(jobs.parse)
    app.view(JobView.REVIEW)(jobs.review)
    app.view(JobView.TEMPLATE)(jobs.template)
    app.view(JobView.EDIT_ITEM)(jobs.edit_item)
    app.view(JobView.APPROVAL)(jobs.approval_link)
    app.view(JobView.RECORD_APPROVAL)(jobs.record_approval)
    app.view(JobView.EXPORT)(jobs.export_job)
    app.view(CatalogView.FONT_UPLOAD)(catalog.font_uploaded)
    app.view(CatalogView.PROFILE_EDIT)(catalog.profile_saved)
    app.view(CatalogView.TEMPLATE_IMPORT)(catalog.imported)
