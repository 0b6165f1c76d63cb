"""The enforcement ladder as pack data (``policies/<pack>/enforcement.yaml``), parsed and validated.

The ladder is modelled on Circular 05/2004/TT-BBCVT: a warning for a minor first violation with mitigating
circumstances; suspension for 3 months (1 month with mitigating circumstances); indefinite suspension with
aggravating circumstances. Windows, the limitation period, deadlines and the "purpose blog" threshold are data too.

``validate_ladder(data)`` returns every error as ``"<path>: <message>"`` (``ladder[2].when.min_prior_strikes: …``)
so the pack validator can report them all at once; ``parse_ladder(data)`` raises :class:`LadderError` with the same
list. The rungs are checked for coverage: every combination of prior strikes, minor/serious, mitigating and
aggravating must reach exactly one first-matching rung, and no rung may be unreachable.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "enforcement/1"
OUTCOMES = ("warn", "suspend", "suspend_indefinite")
_WHEN_KEYS = {"min_prior_strikes", "max_prior_strikes", "minor", "mitigating", "aggravating"}
_TOP_KEYS = {
    "schema",
    "regime",
    "description",
    "source",
    "severity",
    "circumstances",
    "strikes",
    "limitation",
    "purpose_blog",
    "ladder",
    "deadlines",
    "notices",
    "calendar",
}
_DEADLINE_DEFAULTS: dict[str, int] = {
    "authority_request_hours": 24,
    "notice_hours": 48,
    "appeal_working_days": 10,
    "appeal_complex_working_days": 30,
    "appeal_extension_max_working_days": 30,
    "decision_working_days": 10,
    "decision_complex_working_days": 30,
}


class LadderError(ValueError):
    """The enforcement data is invalid; ``errors`` lists every problem."""

    def __init__(self, errors: Sequence[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class Bracket:
    """A fine bracket of the draft decree, carried as information only (never applied)."""

    min_vnd: int
    max_vnd: int
    basis: str
    clause: str | None = None
    verification: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "min_vnd": self.min_vnd,
            "max_vnd": self.max_vnd,
            "basis": self.basis,
            "clause": self.clause,
            "verification": self.verification,
        }


@dataclass(frozen=True)
class Rung:
    """One step of the ladder: the first rung whose conditions all hold gives the outcome."""

    id: str
    outcome: str
    duration_days: int | None = None
    min_prior_strikes: int | None = None
    max_prior_strikes: int | None = None
    minor: bool | None = None
    mitigating: bool | None = None
    aggravating: bool | None = None
    basis: Mapping[str, Any] = field(default_factory=dict)  # citation of the model rule (Circular 05/2004 …)

    def matches(self, *, prior_strikes: int, minor: bool, mitigating: bool, aggravating: bool) -> bool:
        """Return whether this rung applies to the given facts."""
        if self.min_prior_strikes is not None and prior_strikes < self.min_prior_strikes:
            return False
        if self.max_prior_strikes is not None and prior_strikes > self.max_prior_strikes:
            return False
        return all(
            want is None or want == have
            for want, have in ((self.minor, minor), (self.mitigating, mitigating), (self.aggravating, aggravating))
        )


@dataclass(frozen=True)
class PurposeBlogRule:
    """When a blog counts as set up to spread violating content (the draft decree's 30–50 M bracket)."""

    window_days: int
    min_violations: int
    same_category: bool
    bracket: Bracket | None = None


@dataclass(frozen=True)
class Ladder:
    """The parsed enforcement data of one pack."""

    regime: str
    rungs: tuple[Rung, ...]
    minor_max_severity: int
    default_severity: int
    mitigating: Mapping[str, str]
    aggravating: Mapping[str, str]
    strike_window_days: int
    limitation_days: int
    purpose_blog: PurposeBlogRule
    deadlines: Mapping[str, int]
    unfounded_window_days: int
    unfounded_threshold: int
    extra_holidays: tuple[str, ...] = ()
    extra_workdays: tuple[str, ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict)

    def rung_for(self, *, prior_strikes: int, minor: bool, mitigating: bool, aggravating: bool) -> Rung:
        """Return the first rung that applies (validation guarantees there is one)."""
        for rung in self.rungs:
            if rung.matches(prior_strikes=prior_strikes, minor=minor, mitigating=mitigating, aggravating=aggravating):
                return rung
        raise LookupError("no rung applies; the ladder was not validated")  # pragma: no cover

    def is_minor(self, severity: int | None) -> bool:
        """Return whether a category severity (1–5, from the policy pack) counts as a minor violation."""
        return (self.default_severity if severity is None else severity) <= self.minor_max_severity

    def deadline(self, name: str) -> int:
        return self.deadlines[name]


def validate_ladder(data: Any) -> list[str]:
    """Return every problem with enforcement data as ``"<path>: <message>"`` (empty when valid)."""
    return _Parser().run(data)[1]


def parse_ladder(data: Any) -> Ladder:
    """Parse enforcement data, raising :class:`LadderError` with every problem."""
    ladder, errors = _Parser().run(data)
    if errors or ladder is None:
        raise LadderError(errors or ["invalid enforcement data"])
    return ladder


def load_ladder(path: str) -> Ladder:
    """Read and parse an ``enforcement.yaml`` file."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    try:
        return parse_ladder(data)
    except LadderError as exc:
        raise LadderError([f"{path}: {e}" for e in exc.errors]) from None


class _Parser:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def mapping(self, data: Any, path: str, allowed: set[str] | None = None) -> Mapping[str, Any]:
        if data is None:
            return {}
        if not isinstance(data, Mapping):
            self.err(path, "must be a mapping")
            return {}
        if allowed is not None:
            for key in sorted(set(map(str, data)) - allowed):
                self.err(
                    f"{path}.{key}" if path else key, f"unknown key (expected one of {', '.join(sorted(allowed))})"
                )
        return data

    def integer(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        default: int | None = None,
        minimum: int = 0,
        required: bool = False,
    ) -> int | None:
        value = data.get(key)
        where = f"{path}.{key}" if path else key
        if value is None:
            if required:
                self.err(where, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.err(where, f"must be an integer, got {value!r}")
            return default
        if value < minimum:
            self.err(where, f"must be >= {minimum}, got {value}")
            return default
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str) -> bool | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.err(f"{path}.{key}", f"must be true or false, got {value!r}")
            return None
        return value

    def names(self, data: Any, path: str) -> dict[str, str]:
        mapping = self.mapping(data, path)
        out: dict[str, str] = {}
        for name, label in mapping.items():
            if not isinstance(name, str) or not name.replace("_", "").isalnum() or not name.islower():
                self.err(f"{path}.{name}", "names are lower-case snake_case identifiers")
            if not isinstance(label, str) or not label.strip():
                self.err(f"{path}.{name}", "needs a non-empty description")
            out[str(name)] = str(label)
        return out

    def bracket(self, data: Any, path: str) -> Bracket | None:
        if data is None:
            return None
        mapping = self.mapping(data, path, {"min_vnd", "max_vnd", "basis", "clause", "verification"})
        lo = self.integer(mapping, "min_vnd", path, required=True)
        hi = self.integer(mapping, "max_vnd", path, required=True)
        basis = mapping.get("basis")
        if not isinstance(basis, str) or not basis.strip():
            self.err(f"{path}.basis", "is required (which instrument and article the bracket comes from)")
        if lo is not None and hi is not None and lo > hi:
            self.err(path, f"min_vnd {lo} is above max_vnd {hi}")
        if lo is None or hi is None or not isinstance(basis, str):
            return None
        clause = mapping.get("clause")
        verification = mapping.get("verification")
        return Bracket(
            lo, hi, basis, None if clause is None else str(clause), None if verification is None else str(verification)
        )

    def rung(self, data: Any, index: int) -> Rung | None:
        path = f"ladder[{index}]"
        mapping = self.mapping(data, path, {"id", "outcome", "duration_days", "when", "basis", "description"})
        rung_id = mapping.get("id")
        if not isinstance(rung_id, str) or not rung_id:
            self.err(f"{path}.id", "is required")
            rung_id = f"#{index}"
        outcome = mapping.get("outcome")
        if outcome not in OUTCOMES:
            self.err(f"{path}.outcome", f"must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        duration = self.integer(mapping, "duration_days", path, minimum=1)
        if outcome == "suspend" and duration is None and "duration_days" not in mapping:
            self.err(f"{path}.duration_days", "a suspension needs a duration in days")
        if outcome in {"warn", "suspend_indefinite"} and "duration_days" in mapping:
            self.err(f"{path}.duration_days", f"an outcome of {outcome} takes no duration")
        when = self.mapping(mapping.get("when"), f"{path}.when", _WHEN_KEYS)
        lo = self.integer(when, "min_prior_strikes", f"{path}.when")
        hi = self.integer(when, "max_prior_strikes", f"{path}.when")
        if lo is not None and hi is not None and lo > hi:
            self.err(f"{path}.when", f"min_prior_strikes {lo} is above max_prior_strikes {hi}: the rung never applies")
        basis = self.mapping(mapping.get("basis"), f"{path}.basis")
        if outcome not in OUTCOMES:
            return None
        return Rung(
            id=rung_id,
            outcome=str(outcome),
            duration_days=duration,
            min_prior_strikes=lo,
            max_prior_strikes=hi,
            minor=self.boolean(when, "minor", f"{path}.when"),
            mitigating=self.boolean(when, "mitigating", f"{path}.when"),
            aggravating=self.boolean(when, "aggravating", f"{path}.when"),
            basis=dict(basis),
        )

    def check_coverage(self, rungs: list[Rung]) -> None:
        # Strike counts beyond the largest threshold behave like the largest threshold + 1.
        thresholds = [r.min_prior_strikes for r in rungs if r.min_prior_strikes is not None]
        thresholds += [r.max_prior_strikes + 1 for r in rungs if r.max_prior_strikes is not None]
        top = max(thresholds, default=0) + 1
        used: set[int] = set()
        for strikes, minor, mitigating, aggravating in itertools.product(
            range(top + 1), (True, False), (True, False), (True, False)
        ):
            facts = {"prior_strikes": strikes, "minor": minor, "mitigating": mitigating, "aggravating": aggravating}
            hit = next((i for i, r in enumerate(rungs) if r.matches(**facts)), None)  # type: ignore[arg-type]
            if hit is None:
                self.err("ladder", "no rung applies to " + ", ".join(f"{k}={v}" for k, v in facts.items()))
                return
            used.add(hit)
        for i, rung in enumerate(rungs):
            if i not in used:
                self.err(
                    f"ladder[{i}]", f"rung {rung.id!r} is never reached: earlier rungs cover every case it matches"
                )

    def run(self, data: Any) -> tuple[Ladder | None, list[str]]:
        if not isinstance(data, Mapping):
            return None, [": enforcement data must be a mapping"]
        top = self.mapping(data, "", _TOP_KEYS)
        if top.get("schema") != SCHEMA:
            self.err("schema", f"must be {SCHEMA!r}, got {top.get('schema')!r}")
        regime = top.get("regime")
        if not isinstance(regime, str) or not regime:
            self.err("regime", "is required (the pack id)")
        severity = self.mapping(top.get("severity"), "severity", {"minor_max", "default"})
        minor_max = self.integer(severity, "minor_max", "severity", default=2, minimum=1)
        default_sev = self.integer(severity, "default", "severity", default=3, minimum=1)
        circ = self.mapping(top.get("circumstances"), "circumstances", {"mitigating", "aggravating"})
        mitigating = self.names(circ.get("mitigating"), "circumstances.mitigating")
        aggravating = self.names(circ.get("aggravating"), "circumstances.aggravating")
        for name in sorted(set(mitigating) & set(aggravating)):
            self.err(f"circumstances.{name}", "is listed as both mitigating and aggravating")
        if "repeated_after_suspension" not in aggravating:
            self.err("circumstances.aggravating", "must declare repeated_after_suspension (the ladder computes it)")
        strikes = self.mapping(top.get("strikes"), "strikes", {"window_days"})
        window = self.integer(strikes, "window_days", "strikes", minimum=1, required=True)
        limitation = self.mapping(top.get("limitation"), "limitation", {"days", "basis"})
        limitation_days = self.integer(limitation, "days", "limitation", minimum=1, required=True)
        purpose = self.mapping(
            top.get("purpose_blog"), "purpose_blog", {"window_days", "min_violations", "same_category", "bracket"}
        )
        purpose_window = self.integer(purpose, "window_days", "purpose_blog", minimum=1, required=True)
        purpose_min = self.integer(purpose, "min_violations", "purpose_blog", minimum=2, required=True)
        same_category = self.boolean(purpose, "same_category", "purpose_blog")
        purpose_bracket = self.bracket(purpose.get("bracket"), "purpose_blog.bracket")
        deadlines_in = self.mapping(top.get("deadlines"), "deadlines", set(_DEADLINE_DEFAULTS))
        deadlines = dict(_DEADLINE_DEFAULTS)
        for key in _DEADLINE_DEFAULTS:
            value = self.integer(deadlines_in, key, "deadlines", minimum=1)
            if value is not None:
                deadlines[key] = value
        if deadlines["appeal_complex_working_days"] < deadlines["appeal_working_days"]:
            self.err("deadlines.appeal_complex_working_days", "must not be shorter than appeal_working_days")
        notices = self.mapping(top.get("notices"), "notices", {"unfounded_window_days", "unfounded_threshold"})
        unfounded_window = self.integer(notices, "unfounded_window_days", "notices", default=90, minimum=1)
        unfounded_threshold = self.integer(notices, "unfounded_threshold", "notices", default=3, minimum=1)
        calendar = self.mapping(top.get("calendar"), "calendar", {"extra_holidays", "extra_workdays"})
        extra: dict[str, tuple[str, ...]] = {}
        for key in ("extra_holidays", "extra_workdays"):
            extra[key] = self.dates(calendar.get(key), f"calendar.{key}")

        rungs_data = top.get("ladder")
        rungs: list[Rung] = []
        if not isinstance(rungs_data, list) or not rungs_data:
            self.err("ladder", "must be a non-empty list of rungs")
        else:
            seen: set[str] = set()
            for i, item in enumerate(rungs_data):
                rung = self.rung(item, i)
                if rung is None:
                    continue
                if rung.id in seen:
                    self.err(f"ladder[{i}].id", f"duplicate rung id {rung.id!r}")
                seen.add(rung.id)
                rungs.append(rung)
            if len(rungs) == len(rungs_data):
                self.check_coverage(rungs)

        if self.errors:
            return None, self.errors
        assert isinstance(regime, str)
        assert window is not None
        assert limitation_days is not None
        assert purpose_window is not None
        assert purpose_min is not None
        assert minor_max is not None
        assert default_sev is not None
        assert unfounded_window is not None
        assert unfounded_threshold is not None
        return (
            Ladder(
                regime=regime,
                rungs=tuple(rungs),
                minor_max_severity=minor_max,
                default_severity=default_sev,
                mitigating=mitigating,
                aggravating=aggravating,
                strike_window_days=window,
                limitation_days=limitation_days,
                purpose_blog=PurposeBlogRule(purpose_window, purpose_min, bool(same_category), purpose_bracket),
                deadlines=deadlines,
                unfounded_window_days=unfounded_window,
                unfounded_threshold=unfounded_threshold,
                extra_holidays=extra["extra_holidays"],
                extra_workdays=extra["extra_workdays"],
                source=dict(self.mapping(top.get("source"), "source")),
            ),
            [],
        )

    def dates(self, data: Any, path: str) -> tuple[str, ...]:
        if data is None:
            return ()
        if not isinstance(data, list):
            self.err(path, "must be a list of ISO dates")
            return ()
        out: list[str] = []
        for i, value in enumerate(data):
            text = value.isoformat() if isinstance(value, dt.date) else str(value)
            try:
                dt.date.fromisoformat(text)
            except ValueError:
                self.err(f"{path}[{i}]", f"not an ISO date: {value!r}")
                continue
            out.append(text)
        return tuple(out)
