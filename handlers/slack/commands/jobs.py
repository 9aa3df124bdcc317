"""`/job` subcommands: each reads its words, calls one use case and answers at once; slow work goes
to the worker pool and reports into the job's thread."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any

from bot import blocks as B
from bot import modals
from handlers.slack import forms, steps
from handlers.slack.commands.command import Command
from handlers.slack.payloads import page_number
from pipeline.core.actors import Who
from pipeline.core.errors import InvalidInput
from pipeline.core.runtime import Runtime
from pipeline.services import jobs, members
from storage.models import JobStatus, Role

USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,20})$")


def job_new(c: Command) -> None:
    c.open(modals.new_job_modal(c.channel_id))


def job_list(c: Command) -> None:
    status, sort, page, deleted, words = None, "created", 1, False, []
    args = iter(c.words[1:])
    for word in args:
        low = word.lower()
        if low in JobStatus.ALL and status is None:
            status = low
        elif low == "--sort":
            sort = next(args, "").lower()
        elif low.startswith("--sort="):
            sort = low.split("=", 1)[1]
        elif low == "--page":
            page = page_number(next(args, ""))
        elif low == "--deleted":
            deleted = True
        else:
            words.append(word)
    result = jobs.list_jobs(
        c.runtime, c.who, status=status, search=" ".join(words) or None, sort=sort, page=page, deleted=deleted
    )
    heading = "Deleted jobs" if deleted else (f"{status} jobs" if status else "Jobs")
    if words:
        heading += f" matching “{' '.join(words)}”"
    c.reply_blocks(*B.job_list(result, heading=heading))


def job_show(c: Command) -> None:
    c.reply_blocks(*forms.job_card(c.runtime, c.who, c.job_ref()))


def job_help(c: Command) -> None:
    c.reply_blocks(*B.help_blocks())


def job_channel(c: Command) -> None:
    """Make the channel where the command was typed the workspace's production channel."""
    if not c.channel_id or c.channel_id.startswith("D"):
        raise InvalidInput({"channel": "type `/job channel` in the channel where job cards should go"})
    members.set_channel(c.runtime, c.who, c.channel_id)
    c.reply_blocks(
        "Production channel set",
        [
            B.section(
                f":white_check_mark: Job cards, thread replies and alerts now go to <#{c.channel_id}>. "
                "Jobs that already have a card keep their thread where it is."
            )
        ],
    )


def job_role(c: Command) -> None:
    """`/job role @person owner|admin|member`: owners and admins change what a member may do."""
    if len(c.words) != 3:
        raise InvalidInput({"role": f"e.g. `/job role @dana admin` (roles: {', '.join(Role.ALL)})"})
    found = USER_MENTION.match(c.words[1])
    if found is None:
        raise InvalidInput({"role": f"{c.words[1][:40]} is not a person: mention them, e.g. `@dana`"})
    user_id = found.group(1) or found.group(2)
    name, role = members.set_role(c.runtime, c.who, user_id, c.words[2].lower())
    c.forget_member(user_id)
    c.reply(f"{name} is now {'an' if role in (Role.OWNER, Role.ADMIN) else 'a'} {role}.")


def answer(c: Command, step: Callable[[Runtime, Who, str], str]) -> None:
    """A subcommand that is one quick step on a job: do it, then say what happened (ephemerally)."""
    c.reply(step(c.runtime, c.who, c.job_ref()))


def window(c: Command, opener: Callable[[Runtime, Who, str], dict[str, Any]]) -> None:
    """A subcommand that opens a job's window (the job is checked first: errors answer ephemerally)."""
    c.open(opener(c.runtime, c.who, c.job_ref()))


SUBCOMMANDS: dict[str, Callable[[Command], None]] = {
    "new": job_new,
    "list": job_list,
    "show": job_show,
    "help": job_help,
    "edit": partial(window, opener=forms.edit_job_window),
    "parse": partial(window, opener=forms.parse_window),
    "discard": partial(answer, step=steps.discard_items),
    "proofs": partial(answer, step=steps.start_proofs),
    "preflight": partial(answer, step=steps.start_preflight),
    "approval": partial(window, opener=forms.approval_window),
    "withdraw": partial(answer, step=steps.withdraw_request),
    "revoke": partial(answer, step=steps.revoke_link),
    "resume": partial(answer, step=steps.resume_link),
    "export": partial(window, opener=forms.export_window),
    "complete": partial(answer, step=steps.complete),
    "delete": partial(answer, step=steps.delete),
    "restore": partial(answer, step=steps.restore),
    "purge": partial(answer, step=steps.purge),
    "channel": job_channel,
    "role": job_role,
}
