"""An item in the making (a draft): the values read from a line, a confidence and the reasons behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

BASE_CONFIDENCE = 0.95


@dataclass
class Draft:
    """An item in the making: values, confidence and the reasons behind it."""

    values: dict[str, str]
    confidence: float = BASE_CONFIDENCE
    reasons: list[str] = field(default_factory=list)
    label: bool = False  # a quoted label or a line that is not a name

    def deduct(self, amount: float, reason: str) -> None:
        self.confidence = round(max(0.0, self.confidence - amount), 2)
        self.reasons.append(reason)

    def cap(self, ceiling: float, reason: str) -> None:
        self.confidence = round(min(self.confidence, ceiling), 2)
        self.reasons.append(reason)
