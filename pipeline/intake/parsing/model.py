"""Result types shared by both parsing engines (the contract of docs/parsing.md, "Output")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ACCEPTED = 0.85
"""Items at or above this confidence are accepted without review."""
REVIEW = 0.60
"""Items from REVIEW up to ACCEPTED need review; below REVIEW they are uncertain."""

Band = Literal["accepted", "review", "uncertain"]
Engine = Literal["rules", "ai"]


def band(confidence: float) -> Band:
    """The confidence band of an item: accepted, review or uncertain."""
    if confidence >= ACCEPTED:
        return "accepted"
    if confidence >= REVIEW:
        return "review"
    return "uncertain"


class ParseError(Exception):
    """Input that cannot be parsed at all; the message is a sentence meant for the shop."""


@dataclass
class ParsedItem:
    """One physical piece as parsed: its values by column, a confidence and the reasons behind it."""

    values: dict[str, str]
    confidence: float
    reasons: list[str] = field(default_factory=list)
    source_line: int | None = None
    raw: str = ""

    @property
    def band(self) -> Band:
        return band(self.confidence)

    def deduct(self, amount: float, reason: str) -> None:
        """Lower the confidence (never below 0) and record why."""
        self.confidence = round(max(0.0, self.confidence - amount), 2)
        self.reasons.append(reason)

    def cap(self, ceiling: float, reason: str) -> None:
        """Hold the confidence at or under `ceiling` and record why."""
        self.confidence = round(min(self.confidence, ceiling), 2)
        self.reasons.append(reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "values": dict(self.values),
            "confidence": round(self.confidence, 2),
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class SkippedLine:
    """An input line that became no item, with where it was and why it was left out."""

    text: str
    why: str
    line: int | None = None


@dataclass
class ParseResult:
    """What a parse produced. `to_json()` is the shape `python app.py parse FILE --json` prints."""

    items: list[ParsedItem]
    skipped: list[SkippedLine] = field(default_factory=list)
    engine: Engine = "rules"
    engine_note: str = ""
    columns: list[str] = field(default_factory=list)
    name_column: str | None = None
    """The value key that holds the person's (or pet's) name, when one was found."""
    notes: list[str] = field(default_factory=list)
    """Input-level remarks: encoding, delimiter, chosen sheet, missing header …"""

    @property
    def skipped_lines(self) -> list[str]:
        return [s.text for s in self.skipped]

    def counts(self) -> dict[Band, int]:
        out: dict[Band, int] = {"accepted": 0, "review": 0, "uncertain": 0}
        for item in self.items:
            out[item.band] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [item.to_json() for item in self.items],
            "skipped_lines": self.skipped_lines,
            "engine": self.engine,
        }
