"""Who did something: a shop member, the customer (through the approval page) or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    kind: str  # user | customer | system
    id: str = ""
    display: str = ""
    role: str = "member"

    @classmethod
    def user(cls, user_id: str, display: str = "", role: str = "member") -> Actor:
        return cls("user", user_id, display or user_id, role)

    @classmethod
    def customer(cls, display: str = "customer", link_id: int | None = None) -> Actor:
        return cls("customer", f"link:{link_id}" if link_id else "", display)

    @property
    def is_admin(self) -> bool:
        return self.kind == "system" or self.role in ("owner", "admin")


SYSTEM = Actor("system", "system", "CraftStage")


@dataclass(frozen=True)
class Who:
    """A shop member acting in one workspace: what every use case called from Slack is given."""

    ws_id: int
    actor: Actor
