"""Plain input records for the reports (Circular 07/2008/TT-BTTTT §6).

The store's query (``moderation.store.reporting.load_report_input``) turns database rows into these values;
everything after that is plain Python. Every record is a frozen dataclass that round-trips through JSON with
:func:`to_json` / :func:`from_json` (timestamps as RFC 3339 strings with an offset, dates as ``YYYY-MM-DD``,
enums as their string values), so a set of records can be saved, attached to a frozen report and replayed.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

__all__ = [
    "Action",
    "AppealOutcome",
    "AppealRecord",
    "AuthorityRequestRecord",
    "AuthorityTarget",
    "Automation",
    "BlogRecord",
    "BlogStatus",
    "Category",
    "Citation",
    "DecisionRecord",
    "ExtraTable",
    "ProviderProfile",
    "ReportInput",
    "Source",
    "StatusChange",
    "StrikeKind",
    "StrikeRecord",
    "SubmissionKind",
    "from_json",
    "to_json",
]


class BlogStatus(enum.StrEnum):
    """State of a blog in the provider's register (§5.3)."""

    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class SubmissionKind(enum.StrEnum):
    """What a decision was about."""

    POST = "post"
    COMMENT = "comment"
    BLOG = "blog"


class Action(enum.StrEnum):
    """What was done to the content (the latest version of a decision)."""

    REMOVE = "remove"
    RESTRICT = "restrict"
    LABEL = "label"
    NO_ACTION = "no_action"


class Source(enum.StrEnum):
    """How the content was found."""

    AUTOMATED = "automated"
    MODERATOR = "moderator"
    USER_REPORT = "user_report"
    AUTHORITY_REQUEST = "authority_request"


class Automation(enum.StrEnum):
    """How far the decision was taken by a machine."""

    FULLY = "fully"
    PARTIALLY = "partially"
    NOT = "not"


class StrikeKind(enum.StrEnum):
    """A step of the enforcement ladder (Circular 05/2004 model: warning, 1 or 3 months, indefinite)."""

    WARNING = "warning"
    SUSPENSION_1M = "suspension_1m"
    SUSPENSION_3M = "suspension_3m"
    INDEFINITE = "indefinite"


class AppealOutcome(enum.StrEnum):
    """Result of a complaint against a decision."""

    UPHELD = "upheld"
    REVERSED = "reversed"
    PENDING = "pending"


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """§6.2 (a)–(d): who reports, and under which registration."""

    provider_name: str
    registration_number: str  # (a) số văn bản xác nhận đăng ký cung cấp dịch vụ mạng xã hội
    registration_date: date  # (a) ngày xác nhận
    service_start_date: date  # (b) ngày bắt đầu cung cấp dịch vụ blog
    office_address: str  # (c)
    representative_name: str  # (d)
    representative_phone: str
    representative_email: str
    place: str  # địa danh on the date line ("Hà Nội")
    representative_title: str = "Người đại diện theo pháp luật"
    recipients: tuple[str, ...] = (
        "Bộ Thông tin và Truyền thông (Cục Quản lý Phát thanh, Truyền hình và Thông tin điện tử)",
        "Sở Thông tin và Truyền thông nơi doanh nghiệp đăng ký",
    )


@dataclass(frozen=True, slots=True)
class StatusChange:
    """The blog entered ``status`` at ``at``."""

    status: BlogStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class BlogRecord:
    """A blog in the register. ``history`` is authoritative; before its first entry the blog is active."""

    id: str
    platform_blog_id: str
    created_at: datetime
    status: BlogStatus  # status now, when the records were loaded; checked against the history
    history: tuple[StatusChange, ...] = ()
    test_platform: bool = False


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a category comes from: instrument, article, clause, point."""

    instrument: str
    article: str = ""
    clause: str = ""
    point: str = ""


@dataclass(frozen=True, slots=True)
class Category:
    """A policy category as the pack names it."""

    id: str
    name_vi: str
    name_en: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One version of a decision. A revision is a new record with ``supersedes`` pointing back."""

    id: str
    platform_id: str
    kind: SubmissionKind
    categories: tuple[Category, ...]
    action: Action
    source: Source
    automated_decision: Automation
    decided_at: datetime
    blog_id: str | None = None
    author_id: str | None = None
    supersedes: str | None = None
    superseded_by: str | None = None
    reversed_on_appeal: bool = False
    shadow: bool = False
    test_platform: bool = False
    pack_versions: Mapping[str, str] = field(default_factory=dict)  # pack id -> sha256


@dataclass(frozen=True, slots=True)
class StrikeRecord:
    """A step of the enforcement ladder applied to an author or a blog."""

    id: str
    kind: StrikeKind
    at: datetime
    author_id: str | None = None
    blog_id: str | None = None
    decision_id: str | None = None
    test_platform: bool = False


@dataclass(frozen=True, slots=True)
class AppealRecord:
    """A complaint against a decision (the decision stays in force while it is pending)."""

    id: str
    decision_id: str
    received_at: datetime
    outcome: AppealOutcome
    decided_at: datetime | None = None
    test_platform: bool = False


@dataclass(frozen=True, slots=True)
class AuthorityTarget:
    """One item named in an authority request, and when it was acted on (None: not yet)."""

    ref: str
    acted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuthorityRequestRecord:
    """A request of a competent authority to block or remove content.

    Give either ``targets`` (one per item, with ``acted_at``) or, when per-item times are not kept, ``complied``
    and ``acted_at`` for the request as a whole; ``targets_count`` is the number of items the document names.
    """

    id: str
    issuing_body: str
    document_number: str
    received_at: datetime
    deadline: datetime
    targets_count: int
    targets: tuple[AuthorityTarget, ...] = ()
    complied: bool | None = None
    acted_at: datetime | None = None
    test_platform: bool = False


@dataclass(frozen=True, slots=True)
class ExtraTable:
    """Statistics the authority asked for (§6.2 đ), free-form: copied into the report as given."""

    title_vi: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | float, ...], ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReportInput:
    """Everything one report is computed from, for one platform.

    ``decisions`` must hold every version of each supersession chain that has a version decided before the end
    of the period (the core attributes a chain to the period of its first version); the other lists may hold
    more than the period, the core filters them.
    """

    platform_id: str
    profile: ProviderProfile
    blogs: tuple[BlogRecord, ...] = ()
    decisions: tuple[DecisionRecord, ...] = ()
    strikes: tuple[StrikeRecord, ...] = ()
    appeals: tuple[AppealRecord, ...] = ()
    authority_requests: tuple[AuthorityRequestRecord, ...] = ()
    extra_tables: tuple[ExtraTable, ...] = ()


# --- JSON ---------------------------------------------------------------------------------------------------------


def to_json(value: Any) -> Any:
    """Convert a record (or a tuple, mapping or scalar inside one) to JSON-compatible values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: records carry aware timestamps")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


T = TypeVar("T")


def from_json(cls: type[T], data: Any) -> T:
    """Build ``cls`` (a record class) from what :func:`to_json` produced; unknown keys are an error."""
    return typing.cast(T, _decode(cls, data, cls.__name__))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _decode(non_none[0], data, where)
        for arg in non_none:  # str | int | float cells of an extra table: keep the JSON type
            if isinstance(data, arg) and not (arg is not bool and isinstance(data, bool)):
                return data
        raise ValueError(f"{where}: {data!r} is not one of {non_none}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(data, list):
            raise ValueError(f"{where}: expected a list, got {data!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        return tuple(_decode(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True)))
    if origin is not None and issubclass(origin, Mapping):
        _, val_tp = typing.get_args(tp)
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {data!r}")
        return {str(k): _decode(val_tp, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected an object, got {data!r}")
        hints = _hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{where}: unknown fields {sorted(unknown)}")
        return tp(**{k: _decode(hints[k], v, f"{where}.{k}") for k, v in data.items()})
    if tp is datetime:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected an RFC 3339 string, got {data!r}")
        parsed = datetime.fromisoformat(data)
        if parsed.tzinfo is None:
            raise ValueError(f"{where}: {data!r} has no UTC offset")
        return parsed
    if tp is date:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected YYYY-MM-DD, got {data!r}")
        return date.fromisoformat(data)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is bool:
        if not isinstance(data, bool):
            raise ValueError(f"{where}: expected true/false, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{where}: expected an integer, got {data!r}")
        return data
    if tp is str:
        if not isinstance(data, str):
            raise ValueError(f"{where}: expected a string, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            raise ValueError(f"{where}: expected a number, got {data!r}")
        return float(data)
    raise TypeError(f"{where}: cannot decode type {tp!r}")
