"""The one report type every channel fills, whatever way it was taken in."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Category(StrEnum):
    SEXUAL_EXPLOITATION = "sexual_exploitation"
    SEXUAL_ABUSE = "sexual_abuse"
    OTHER_MISCONDUCT = "other_misconduct"


class Affected(StrEnum):
    SELF = "self"
    SOMEONE_ELSE = "someone_else"
    CHILD = "child"


class ReceivedVia(StrEnum):
    """How a report that a person took (channel `in_person`) reached them."""

    IN_PERSON = "in_person"
    PAPER = "paper"
    PHONE_CALL_TO_STAFF = "phone_call_to_staff"
    COMMUNITY_NETWORK = "community_network"


IN_PERSON = "in_person"  # the channel of every report a person received and filed


@dataclass(frozen=True)
class NewAttachment:
    content_type: str
    data: bytes


@dataclass
class NewReport:
    """A report as given; only the narrative (or an attachment) is required."""

    narrative: str
    language: str
    category: Category | None = None
    affected: Affected | None = None
    danger_now: bool | None = None
    location: str | None = None
    incident_time: str | None = None
    follow_up: bool = False
    attachments: list[NewAttachment] = field(default_factory=list)
    # Structured allegation fields answered (gateway.cases.allegation): field
    # name -> the value as text ("police", "3"); checked when the case is filed.
    allegation: dict[str, str | None] = field(default_factory=dict)

    @property
    def child_involved(self) -> bool:
        return self.affected is Affected.CHILD

    def content(self) -> dict[str, object]:
        """The part stored encrypted."""
        return {
            "narrative": self.narrative,
            "location": self.location,
            "incident_time": self.incident_time,
            "danger_now": self.danger_now,
            "affected": self.affected.value if self.affected else None,
            "category": self.category.value if self.category else None,
        }
