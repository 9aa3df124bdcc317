"""The order windows (pure builders): pasting or uploading an order, and the review gate that shows
each flagged item with the reasons in words."""

from __future__ import annotations

from typing import Any

from bot.blocks import Block, clip, context, esc, mrkdwn, plain, section
from bot.ids import JobView
from bot.modals import metadata, modal, radio_input, text_input

PARSE_FILETYPES = ["csv", "tsv", "txt", "xlsx"]


def parse_modal(
    job_ref: str, customer: str, *, has_items: bool, error: str | None = None, kept: str | None = None
) -> dict[str, Any]:
    """`kept`: the order pasted last time (a parse that failed or was cut off), filled in again."""
    blocks: list[Block] = [
        section(
            f"*{job_ref}* · {esc(customer)}\nPaste the customer's order, or upload "
            "their spreadsheet. CraftStage finds the names; you review anything unsure."
        )
    ]
    if error:
        blocks.append(section(f":warning: {esc(error)}"))
    blocks.append(
        text_input(
            "order_text",
            "Pasted order",
            optional=True,
            multiline=True,
            initial=kept,
            placeholder="Paste the email, chat message or list here",
        )
    )
    blocks.append(
        {
            "type": "input",
            "block_id": "order_file",
            "optional": True,
            "label": plain("…or upload a file"),
            "element": {
                "type": "file_input",
                "action_id": "value",
                "filetypes": PARSE_FILETYPES,
                "max_files": 1,
            },
            "hint": plain(".csv, .tsv, .txt or .xlsx"),
        }
    )
    if has_items:
        blocks.append(
            radio_input(
                "mode",
                "The job already has items",
                [("append", "Add these to the job's items"), ("replace", "Replace the job's items")],
                initial="append",
            )
        )
    return modal(JobView.PARSE, "Add items", blocks, submit="Parse", meta=metadata(job=job_ref))


def _flagged_blocks(shown: list[tuple[int, dict[str, Any]]]) -> list[Block]:
    """Each flagged item with why it was flagged and a field to fix its name."""
    out: list[Block] = []
    for index, item in shown:
        values = item.get("values", {})
        label = clip(" · ".join(f"{k}: {v}" for k, v in values.items()) or "(empty)", 150)
        reasons = clip(reason_sentences(item.get("reasons", [])), 2400)
        out.append(
            section(f"*#{index + 1}* {esc(label)} (confidence {item['confidence']:.2f})\n{esc(reasons)}")
        )
        out.append(
            text_input(
                f"fix:{index}",
                f"Fix #{index + 1} (leave empty to keep it as parsed)",
                optional=True,
                initial=values.get("name") if values.get("name") else None,
                max_length=300,
            )
        )
    return out


def _acknowledge_block(flagged: int, any_shown: bool) -> Block:
    return {
        "type": "input",
        "block_id": "ack",
        "optional": True,
        "label": plain("Acknowledge"),
        "element": {
            "type": "checkboxes",
            "action_id": "value",
            "options": [
                {
                    "text": mrkdwn(f"I checked the {flagged} flagged item(s)"),
                    "description": mrkdwn(
                        "They are right as shown" + (", or fixed above" if any_shown else "")
                    ),
                    "value": "all",
                }
            ],
        },
    }


def reason_sentences(reasons: list[str]) -> str:
    """Why an item is flagged, in words: one sentence per reason, each on its own line
    ("• Two names joined by '&': kept as one couple."). Bookkeeping about quantity expansion is left
    out; repeated reasons are said once."""
    said: list[str] = []
    for reason in reasons:
        text = " ".join(reason.split())
        if not text or text.startswith("quantity ") and "expanded into" in text:
            continue
        text = text[0].upper() + text[1:]
        if text[-1] not in ".!?)'\"":
            text += "."
        if text not in said:
            said.append(text)
    return "\n".join(f"• {t}" for t in said) or "• The parser was not sure of this item (no reason recorded)."


def review_modal(
    job_ref: str,
    batch_id: int,
    engine_note: str,
    items: list[dict[str, Any]],
    skipped: list[str],
    *,
    has_items: bool,
) -> dict[str, Any]:
    """Flagged items first, each to acknowledge or fix; a large batch is summarized."""
    flagged = [(i, it) for i, it in enumerate(items) if it["confidence"] < 0.85]
    ok = len(items) - len(flagged)
    head = f"*{job_ref}*: {len(items)} item(s) parsed, *{len(flagged)}* need a look, {ok} look fine."
    blocks: list[Block] = [section(head)]
    if engine_note:
        blocks.append(context(esc(clip(engine_note, 300))))
    shown = flagged[:20]
    blocks += _flagged_blocks(shown)
    if flagged:
        blocks.append(_acknowledge_block(len(flagged), bool(shown)))
    if len(flagged) > len(shown):
        blocks.append(
            context(
                f"{len(flagged) - len(shown)} more flagged item(s) are not shown; "
                "acknowledging covers them all."
            )
        )
    fine = [it for it in items if it["confidence"] >= 0.85][:10]
    if fine:
        names = ", ".join(esc(clip(next(iter(it["values"].values()), ""), 40)) for it in fine)
        blocks.append(context(f"Looking fine: {names}" + ("…" if ok > len(fine) else "")))
    if skipped:
        blocks.append(
            context(
                f"{len(skipped)} line(s) became no item (greetings, signatures, chatter): "
                + esc(clip(" | ".join(skipped[:8]), 500))
            )
        )
    if has_items:
        blocks.append(
            radio_input(
                "mode",
                "The job already has items",
                [("append", "Add these to the job's items"), ("replace", "Replace the job's items")],
                initial="append",
            )
        )
    return modal(
        JobView.REVIEW,
        "Review items",
        blocks,
        submit="Add to job",
        meta=metadata(job=job_ref, batch=batch_id),
    )
