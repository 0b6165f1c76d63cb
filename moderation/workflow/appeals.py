"""Appeals (complaints) against decisions.

The decision stays in force while an appeal is pending (Circular 05/2004 IV.1). A moderator other than the one who
took the decision decides the appeal (any moderator for automated decisions), with a written reason. Upholding
changes nothing; a reversal builds a superseding decision and the restore actions. The deadline is counted in
Vietnamese working days: 10 by default, 30 for complex cases, from the pack's enforcement data.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from moderation.workflow.audit import format_at
from moderation.workflow.calendar import DEFAULT_CALENDAR, WorkingCalendar
from moderation.workflow.decisions import Actor, DecisionAction, DecisionSource, StatementOfReasons, supersede
from moderation.workflow.enforcement import CaseDecision, EnforcementAction, restore_actions


class AppealOutcome(enum.StrEnum):
    UPHELD = "upheld"
    REVERSED = "reversed"


class AppealError(ValueError):
    """The appeal cannot be decided this way; ``field`` says which input is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Appeal:
    id: str
    decision_id: str
    appellant_id: str
    filed_at: dt.datetime
    grounds: str
    complex: bool = False


@dataclass(frozen=True)
class AppealResolution:
    appeal_id: str
    outcome: AppealOutcome
    moderator_id: str
    reason: str
    decided_at: dt.datetime
    late: bool
    superseding: StatementOfReasons | None
    actions: tuple[EnforcementAction, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "appeal_id": self.appeal_id,
            "outcome": self.outcome.value,
            "moderator_id": self.moderator_id,
            "reason": self.reason,
            "decided_at": format_at(self.decided_at),
            "late": self.late,
            "superseding": None if self.superseding is None else self.superseding.to_json(),
            "actions": [a.to_json() for a in self.actions],
        }


def appeal_deadline(
    appeal: Appeal,
    *,
    working_days: int = 10,
    complex_working_days: int = 30,
    extension_working_days: int = 0,
    calendar: WorkingCalendar = DEFAULT_CALENDAR,
) -> dt.datetime:
    """Return when the appeal must be decided: the end of the N-th working day after it was filed (Vietnam time)."""
    days = (complex_working_days if appeal.complex else working_days) + extension_working_days
    return calendar.deadline(appeal.filed_at, days)


def in_force(decision: StatementOfReasons, resolutions: list[AppealResolution]) -> bool:
    """Return whether ``decision`` still applies: yes while appeals are pending or upheld, no once reversed."""
    return not any(
        r.outcome is AppealOutcome.REVERSED and r.superseding is not None and r.superseding.supersedes == decision.id
        for r in resolutions
    )


def decide_appeal(
    appeal: Appeal,
    decision: StatementOfReasons,
    *,
    moderator_id: str,
    outcome: AppealOutcome | str,
    reason: str,
    decided_at: dt.datetime,
    deadline: dt.datetime,
    case_decision: CaseDecision | None = None,
) -> AppealResolution:
    """Decide an appeal; a reversal returns the superseding decision and the restore actions to send."""
    outcome = AppealOutcome(outcome)
    if appeal.decision_id != decision.id:
        raise AppealError("decision_id", "the appeal is about another decision")
    if not reason.strip():
        raise AppealError("reason", "a written reason is required")
    if decision.actor.kind == "moderator" and decision.actor.id == moderator_id:
        raise AppealError("moderator_id", "the moderator who took the decision cannot decide the appeal against it")
    if decided_at < appeal.filed_at:
        raise AppealError("decided_at", "an appeal cannot be decided before it was filed")
    superseding = None
    actions: tuple[EnforcementAction, ...] = ()
    if outcome is AppealOutcome.REVERSED:
        superseding = supersede(
            decision,
            actor=Actor("moderator", moderator_id),
            reason=reason,
            decided_at=decided_at,
            action=DecisionAction.NO_ACTION,
            source=DecisionSource.APPEAL,
            source_ref=appeal.id,
        )
        item = decision.subject.get("item_id") or decision.subject.get("url")
        if case_decision is not None:
            item_ids = [item] if item else None
            actions = tuple(restore_actions(case_decision, item_ids=item_ids, now=decided_at, reason=reason))
        elif item and decision.action in {DecisionAction.REMOVE, DecisionAction.RESTRICT}:
            actions = (EnforcementAction("restore_content", "item", str(item), reason),)
    return AppealResolution(
        appeal_id=appeal.id,
        outcome=outcome,
        moderator_id=moderator_id,
        reason=reason,
        decided_at=decided_at,
        late=decided_at > deadline,
        superseding=superseding,
        actions=actions,
    )
