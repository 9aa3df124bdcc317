"""Slack ids, one enum per feature: the builders in bot/ put them on buttons and windows, the
listeners in handlers/slack/ are registered for them. A button's value is the job reference."""

from __future__ import annotations

from enum import StrEnum
from re import Pattern


class JobAction(StrEnum):
    """Buttons on a job's card, in its thread and on the Home tab's job lines."""

    PARSE = "job_parse"
    REVIEW = "job_review"
    TEMPLATE = "job_template"
    PROOFS = "job_proofs"
    PREFLIGHT = "job_preflight"
    APPROVAL = "job_approval"
    RECORD_APPROVAL = "job_record_approval"
    SKIP_APPROVAL = "job_skip_approval"
    EXPORT = "job_export"
    COMPLETE = "job_complete"
    RESTORE = "job_restore"
    SHOW = "job_show"
    EDIT_ITEM = "item_edit"  # value: "J-1042:<item id>"
    EMAIL_LINK = "job_email_link"  # value: the approval link's URL


class JobView(StrEnum):
    """The windows of a job's steps (callback ids)."""

    NEW_JOB = "job_new"
    EDIT_JOB = "job_edit"
    PARSE = "job_parse"
    REVIEW = "job_review"
    TEMPLATE = "job_template"
    EDIT_ITEM = "job_edit_item"
    APPROVAL = "job_approval"
    EXPORT = "job_export"
    RECORD_APPROVAL = "job_record_approval"


class NoteView(StrEnum):
    """Windows that only say something (no submit): no listener is registered for them."""

    INFO = "info"
    WORKING = "working"


# the template picker inside the "choose template" window: choosing redraws the window (typed as the
# constraint Bolt's app.action takes)
TEMPLATE_PICKER: dict[str, str | Pattern[str]] = {"block_id": "template", "action_id": "value"}


class HomeAction(StrEnum):
    """The Home tab's controls (a page button's id ends in `_prev` or `_next`)."""

    FILTER = "home_filter"
    SORT = "home_sort"
    SEARCH = "home_search"
    PAGE = "home_page"


class CatalogView(StrEnum):
    """The windows of `/template`: templates, fonts and machine profiles."""

    TEMPLATE_IMPORT = "template_import"
    FONT_UPLOAD = "font_upload"
    PROFILE_EDIT = "profile_edit"
