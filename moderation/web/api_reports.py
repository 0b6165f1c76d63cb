"""Reports API v1 (Circular 07/2008/TT-BTTTT §6): the calling platform's semiannual and ad-hoc reports.

``GET /v1/reports/semiannual?year=&half=&format=`` and ``GET /v1/reports/adhoc?from=&to=&format=`` compute the
report from the store; when the records give the same SHA-256 as the latest stored version that version is returned,
otherwise a new version is stored (so what was answered can always be shown again). ``GET /v1/reports/<id>`` renders
a stored version. Every report is the signed platform's own: another platform's report is a 404.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Flask, Response, g, request
from flask.typing import ResponseReturnValue

from moderation.errors import ApiError
from moderation.reports.freeze import ReportIntegrityError
from moderation.reports.periods import DEFAULT_REGIME, VN_TZ, Period, adhoc, load_calendars, semiannual
from moderation.reports.render import FORMATS
from moderation.services import reports
from moderation.store.reports import Report
from moderation.web.auth import platform_required

bp = Blueprint("api_reports", __name__, url_prefix="/v1/reports")

MIN_YEAR = 2008  # Circular 07/2008 took effect in 2009; nothing to report before
MAX_ADHOC_DAYS = 3 * 366  # an ad-hoc range longer than this is a query to split
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KNOWN_PARAMS = {
    "semiannual": {"year", "half", "format", "regime"},
    "adhoc": {"from", "to", "format", "regime"},
    "stored": {"format"},
}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _invalid(message: str, field: str) -> ApiError:
    return ApiError(422, "invalid_value", message, field)


def _check_params(kind: str) -> None:
    unknown = sorted(set(request.args) - _KNOWN_PARAMS[kind])
    if unknown:
        raise ApiError(400, "unknown_parameter", f"unknown query parameter {unknown[0]!r}", unknown[0])


def _required(name: str) -> str:
    value = request.args.get(name)
    if value is None or value == "":
        raise ApiError(422, "missing_field", f"the query parameter {name} is required", name)
    return value


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise _invalid(f"format must be one of {', '.join(FORMATS)}", "format")
    return fmt


def _regime() -> str:
    regime = request.args.get("regime", DEFAULT_REGIME)
    if regime not in load_calendars():
        raise _invalid(f"unknown regime {regime!r}; known: {', '.join(sorted(load_calendars()))}", "regime")
    return regime


def _integer(name: str) -> int:
    raw = _required(name)
    if not re.fullmatch(r"\d{1,4}", raw):
        raise ApiError(400, "invalid_type", f"{name} must be an integer", name)
    return int(raw)


def _day(name: str) -> dt.date:
    raw = _required(name)
    if not _DAY.match(raw):
        raise ApiError(400, "invalid_type", f"{name} must be a date YYYY-MM-DD", name)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise _invalid(f"{name}: {raw} is not a calendar date", name) from None


def _today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


def _file(report: Report, fmt: str) -> Response:
    try:
        body = reports.render(report, fmt)
    except ReportIntegrityError:
        raise ApiError(409, "report_altered", "the stored report does not match its SHA-256; regenerate it") from None
    response = Response(body, mimetype=None, content_type=reports.MEDIA_TYPES[fmt])
    name = reports.filename(report, fmt)
    disposition = "inline" if fmt == "json" else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["X-Report-Id"] = report.id
    response.headers["X-Report-Version"] = str(report.version)
    response.headers["X-Report-Sha256"] = report.sha256
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _answer(period: Period, fmt: str) -> Response:
    if period.first_day > _today():
        raise _invalid(f"the period {period.key} has not started yet", "from" if period.kind == "adhoc" else "year")
    row = reports.latest_or_generate(g.db, g.platform.id, period, actor=f"platform:{g.platform.id}")
    response = _file(row, fmt)
    g.db.commit()
    return response


@bp.get("/semiannual")
@platform_required
def semiannual_report() -> ResponseReturnValue:
    _check_params("semiannual")
    fmt, regime = _format(), _regime()
    year, half = _integer("year"), _integer("half")
    if not MIN_YEAR <= year <= _today().year:
        raise _invalid(f"year must be between {MIN_YEAR} and {_today().year}", "year")
    periods = len(load_calendars()[regime].periods)
    if not 1 <= half <= periods:
        raise _invalid(f"half must be between 1 and {periods}", "half")
    return _answer(semiannual(year, half, regime), fmt)


@bp.get("/adhoc")
@platform_required
def adhoc_report() -> ResponseReturnValue:
    _check_params("adhoc")
    fmt, regime = _format(), _regime()
    first, last = _day("from"), _day("to")
    if last < first:
        raise _invalid("to is before from", "to")
    if first.year < MIN_YEAR:
        raise _invalid(f"from must be in {MIN_YEAR} or later", "from")
    if (last - first).days + 1 > MAX_ADHOC_DAYS:
        raise _invalid(f"an ad-hoc report covers at most {MAX_ADHOC_DAYS} days", "to")
    if last > _today():
        raise _invalid("to is in the future", "to")
    return _answer(adhoc(first, last, regime), fmt)


@bp.get("/<report_id>")
@platform_required
def stored_report(report_id: str) -> ResponseReturnValue:
    _check_params("stored")
    fmt = _format()
    row = g.db.get(Report, report_id) if len(report_id) <= 40 else None
    if row is None or row.platform_id != g.platform.id:
        raise ApiError(404, "not_found", "no report with this id for this platform")
    return _file(row, fmt)
