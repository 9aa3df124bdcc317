"""The messages the approval page shows after a redirect, chosen by a code (`?m=`): nothing the
customer typed is ever reflected."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.approval.page import PageView


@dataclass(frozen=True)
class Flash:
    level: str  # success | info | warning | error
    text: str
    item_id: int | None = None


def flash_for(
    code: str, view: PageView, item_id: int | None, approved: int = 0, stale: int = 0
) -> Flash | None:
    """The message for a `?m=` code after a redirect (codes only: nothing typed is ever reflected)."""
    labels = {i.id: i.label for i in view.items}
    label = labels.get(item_id) if item_id is not None else None
    item = label or "This item"
    named = label or "this item"  # inside a sentence
    shop = view.shop_name or "the shop"
    if code == "approved":
        if view.stage == "done":
            return Flash("success", f"{item} approved. That was the last one. Thank you!", item_id)
        return Flash("success", f"{item} approved.", item_id)
    if code == "changed":
        return Flash("success", f"Thanks. Your change request for {named} was sent to {shop}.", item_id)
    if code == "stale":
        who = shop[:1].upper() + shop[1:]
        return Flash(
            "warning",
            f"{who} updated {named} while you were looking. Please check the new proof.",
            item_id,
        )
    if code == "decided":
        return Flash("info", f"{item} was already decided; its status is shown here.", item_id)
    if code == "closed":
        if view.stage == "done":
            return Flash("info", "Every proof of this order is already approved.")
        return Flash("info", "The shop is updating these proofs right now. Please check back a little later.")
    if code == "busy":
        return Flash(
            "warning", "Some of these proofs were decided a moment ago. Please look them over again."
        )
    if code == "all":
        text = f"{_proofs(approved)} approved." if approved else ""
        if stale:
            were, them = ("were", "them") if stale != 1 else ("was", "it")
            text += f" {_proofs(stale)} changed while you were looking and {were} not approved:"
            text += f" please check {them}."
        if not text:
            return Flash("info", "There was nothing left to approve.")
        return Flash("warning" if stale else "success", text.strip())
    return None


def _proofs(n: int) -> str:
    return f"{n} proof{'s' if n != 1 else ''}"
