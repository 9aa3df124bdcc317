"""Quick steps on a job, answered the same way from a `/job` subcommand and from a card button:
each calls one use case and says what happened."""

from __future__ import annotations

from pipeline.core.actors import Who
from pipeline.core.runtime import Runtime
from pipeline.services import approval, intake, jobs, templates


def start_proofs(runtime: Runtime, who: Who, ref: str) -> str:
    done = templates.start_proofs(runtime, who, ref)
    return f"Generating proofs for {done}: progress shows on its card, the proof sheet lands in its thread."


def start_preflight(runtime: Runtime, who: Who, ref: str) -> str:
    return (
        f"Running preflight for {templates.start_preflight(runtime, who, ref)}; the results go to its thread."
    )


def complete(runtime: Runtime, who: Who, ref: str) -> str:
    done, changed = jobs.complete_job(runtime, who, ref)
    return f"{done} is completed. :checkered_flag:" if changed else f"{done} is already completed."


def delete(runtime: Runtime, who: Who, ref: str) -> str:
    done = jobs.delete_job(runtime, who, ref)
    return f"{done} is deleted. `/job restore {done}` brings it back with everything."


def restore(runtime: Runtime, who: Who, ref: str) -> str:
    return f"{jobs.restore_job(runtime, who, ref)} is restored."


def purge(runtime: Runtime, who: Who, ref: str) -> str:
    return f"{jobs.purge_job(runtime, who, ref)} and everything it had are removed for good."


def revoke_link(runtime: Runtime, who: Who, ref: str) -> str:
    done = approval.revoke_link(runtime, who, ref)
    return f"The approval link of {done} is switched off: the customer can no longer open it."


def withdraw_request(runtime: Runtime, who: Who, ref: str) -> str:
    done = approval.withdraw_request(runtime, who, ref)
    return (
        f"{done} is back in proofing; its approval link stays. Change what you need, then "
        f"`/job resume {done}` asks the customer again on the same link."
    )


def resume_link(runtime: Runtime, who: Who, ref: str) -> str:
    done = approval.resume_link(runtime, who, ref)
    return f"{done} is waiting for the customer again, on the same approval link."


def discard_items(runtime: Runtime, who: Who, ref: str) -> str:
    return f"The parsed items of {intake.discard_items(runtime, who, ref)} waiting for review are discarded."
