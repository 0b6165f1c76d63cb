"""The console's pages: thin adapters that check the role, call moderation.services.review and render."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from moderation.reports.freeze import ReportIntegrityError
from moderation.reports.labels import format_value, metric_label
from moderation.reports.periods import get_calendar, last_closed_period
from moderation.reports.records import ProviderProfile
from moderation.reports.render import FORMATS
from moderation.services import audit, review
from moderation.services import reports as reports_service
from moderation.services import workflow as workflow_services
from moderation.store.base import utcnow
from moderation.store.console import User
from moderation.store.models import Platform
from moderation.store.reporting import ProfileError
from moderation.store.reports import Report
from moderation.web.auth import runtime
from moderation.web.console import i18n
from moderation.web.console.i18n import _, ngettext

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()

LOGIN_RATE_PER_MINUTE = 20  # per client address and process; the per-account lockout is in the service
PUBLIC_ENDPOINTS = {"console.login", "console.static", "console.language"}
UPLOAD_ENDPOINTS = {"console.authority_new"}
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def db() -> Session:
    return cast(Session, g.db)


def user() -> User:
    return cast(User, g.console_user)


def actor() -> str:
    return f"user:{user().username}"


# --------------------------------------------------------------------------------------------------------------------
# Request hooks: CSRF, the logged-in user, security headers


@bp.before_request
def _before() -> Response | None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        # An authority's scanned documents are larger than an API body; only their SHA-256 is kept.
        request.max_content_length = int(current_app.config.get("CONSOLE_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES))
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        csrf.protect()
    g.console_user = None
    uid = session.get("uid")
    if uid:
        found = db().get(User, uid)
        if found is not None and found.active and session.get("ver") == found.session_version:
            g.console_user = found
        else:
            session.pop("uid", None)
            session.pop("ver", None)
    if g.console_user is None and request.endpoint not in PUBLIC_ENDPOINTS:
        if request.method == "GET":
            return cast(Response, redirect(url_for("console.login", next=request.full_path.rstrip("?"))))
        abort(401)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global("csrf_token")
def _csrf_token() -> str:
    return str(generate_csrf())


@bp.context_processor
def _context() -> dict[str, Any]:
    u = g.get("console_user")
    counts = review.queue_counts(db()) if u is not None else {}
    return {
        "_": i18n.gettext,
        "ngettext": ngettext,
        "me": u,
        "can": (lambda perm: review.can(u.role if u else None, perm)),
        "lang": i18n.current_language(),
        "vn_time": i18n.vn_time,
        "duration": i18n.duration,
        "timedelta": dt.timedelta,
        "now": utcnow(),
        "counts": counts,
        "citation_label": review.citation_label,
        "role_name": role_name,
    }


def role_name(role: str) -> str:
    names = {
        "moderator": _("Moderator"),
        "senior_moderator": _("Senior moderator"),
        "compliance_officer": _("Compliance officer"),
        "admin": _("Administrator"),
    }
    return str(names.get(role, role))


def _error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("console/error.html", status=status, title=title, message=message), status


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> tuple[str, int]:
    db().rollback()
    return _error_page(400, _("Form expired"), _("The form's security token is missing or expired. Reload the page."))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int] | Response:
    db().rollback()
    status = exc.code or 500
    titles = {
        401: _("Please log in"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not allowed"),
        413: _("Too large"),
        429: _("Too many attempts"),
    }
    messages = {
        401: _("Your session has ended. Log in again."),
        403: _("Your role does not allow this page or action."),
        404: _("There is no such page or item."),
        413: _("The upload is over the size limit."),
        429: _("Too many login attempts from this address. Wait a minute and try again."),
    }
    return _error_page(status, titles.get(status, _("Error")), messages.get(status, exc.description or ""))


def deny(permission: str) -> None:
    """Record the refusal in the audit trail and answer 403."""
    u = user()
    audit.record(
        db(),
        actor=actor(),
        action="access.denied",
        object_type="console",
        object_id=request.path[:200],
        details={"permission": permission, "role": u.role, "method": request.method},
    )
    db().commit()
    abort(403)


def require(permission: str) -> Callable[[F], F]:
    """Refuse (403, audited) a user whose role lacks ``permission``."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not review.can(user().role, permission):
                deny(permission)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/console") and not urlsplit(target).netloc and "//" not in target:
        return target
    return url_for("console.home")


# --------------------------------------------------------------------------------------------------------------------
# Login, logout, language


class AttemptWindow:
    """Count login attempts per client address over the last minute (per process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._attempts: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._attempts.get(key, []) if now - t < 60]
            allowed = len(recent) < self.per_minute
            if allowed:
                recent.append(now)
            self._attempts[key] = recent
            if len(self._attempts) > 10_000:  # forget idle addresses
                self._attempts = {k: v for k, v in self._attempts.items() if v and now - v[-1] < 60}
            return allowed


def _login_limiter() -> AttemptWindow:
    limiter = current_app.extensions.get("console.login_limiter")
    if limiter is None:
        per_minute = int(current_app.config.get("CONSOLE_LOGINS_PER_MINUTE", LOGIN_RATE_PER_MINUTE))
        limiter = current_app.extensions["console.login_limiter"] = AttemptWindow(per_minute)
    return cast(AttemptWindow, limiter)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    need_totp = False
    username = ""
    if request.method == "POST":
        remote = request.remote_addr or "?"
        if not _login_limiter().allow(remote):
            abort(429)
        username = request.form.get("username", "")
        result = review.authenticate(
            db(),
            username,
            request.form.get("password", ""),
            request.form.get("totp") or None,
            remote=remote,
        )
        db().commit()  # failures and lockouts are recorded even though the login is refused
        if result.ok and result.user is not None:
            lang = session.get("lang")
            session.clear()
            session.permanent = True
            session["uid"] = result.user.id
            session["ver"] = result.user.session_version
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.args.get("next")))
        need_totp = result.error in {"totp_required", "bad_totp"}
        error = {
            "locked": _("This account is locked after too many failed attempts. Try again later or ask an admin."),
            "totp_required": _("Enter the 6-digit code from your authenticator app."),
            "inactive": _("This account is disabled."),
        }.get(result.error or "", _("Wrong username, password or code."))
    status = 200 if error is None else 401
    return render_template("console/login.html", error=error, need_totp=need_totp, username=username), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    audit.record(db(), actor=actor(), action="logout", object_type="user", object_id=user().id, details={})
    db().commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("console.login"))


@bp.route("/language", methods=["POST"])
def language() -> Any:
    lang = request.form.get("lang", "")
    if lang in i18n.LANGUAGES:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
def home() -> Any:
    role = user().role
    if review.can(role, "review"):
        return redirect(url_for("console.queue"))
    if review.can(role, "authority"):
        return redirect(url_for("console.authority"))
    return redirect(url_for("console.registry"))


# --------------------------------------------------------------------------------------------------------------------
# Queue and item


@bp.route("/queue")
@require("review")
def queue() -> Any:
    escalated = request.args.get("view") == "escalated"
    if escalated and not review.can(user().role, "escalated"):
        deny("escalated")
    review.expire_claims(db())
    db().commit()
    q = review.review_queue(db(), review.QueueFilter.from_args(request.args, escalated=escalated))
    return render_template("console/queue.html", q=q, escalated=escalated, args=request.args)


@bp.route("/items/<decision_id>")
@require("review")
def item(decision_id: str) -> Any:
    try:
        view = review.item_view(db(), decision_id)
    except review.ReviewError:
        abort(404)
    audit.record(
        db(),
        actor=actor(),
        action="item.view",
        object_type="decision",
        object_id=decision_id,
        platform_id=view.decision.platform_id,
        details={},
    )
    db().commit()
    return render_template(
        "console/item.html",
        v=view,
        standard=review.STANDARD_REASONS,
        mine=view.claim is not None and view.claim.user_id == user().id,
    )


@bp.route("/items/<decision_id>/claim", methods=["POST"])
@require("review")
def claim(decision_id: str) -> Any:
    try:
        review.claim_item(db(), user(), "decision", decision_id)
        db().commit()
        flash(_("You have claimed this item for 15 minutes."), "ok")
    except review.ReviewError as exc:
        db().rollback()
        flash(_message(exc), "error")
    return redirect(url_for("console.item", decision_id=decision_id))


@bp.route("/items/<decision_id>/release", methods=["POST"])
@require("review")
def release(decision_id: str) -> Any:
    review.release_claim(db(), user(), "decision", decision_id)
    db().commit()
    flash(_("Claim released."), "ok")
    return redirect(url_for("console.queue"))


def _reason() -> str:
    return (request.form.get("reason_text") or "").strip() or (request.form.get("reason_choice") or "").strip()


def _outcome() -> tuple[str, str | None]:
    choice = request.form.get("choice", "")
    if choice in review.UPHOLD_ACTIONS:
        return "uphold", choice
    return choice, None


@bp.route("/items/<decision_id>/decide", methods=["POST"])
@require("review")
def decide(decision_id: str) -> Any:
    outcome, action = _outcome()
    try:
        result = review.decide(db(), user(), decision_id, outcome, reason=_reason(), action=action)
        db().commit()
    except review.ReviewError as exc:
        db().rollback()
        flash(_message(exc), "error")
        return redirect(url_for("console.item", decision_id=decision_id))
    if result.outcome == "escalate":
        flash(_("Escalated to the senior moderators."), "ok")
    else:
        done = action_name(result.decision.action if result.decision else "")
        flash(_("Decision recorded: %(action)s.", action=done), "ok")
    return redirect(url_for("console.queue"))


@bp.route("/bulk", methods=["POST"])
@require("review")
def bulk() -> Any:
    ids = request.form.getlist("ids")
    outcome, action = _outcome()
    try:
        result = review.bulk_decide(db(), user(), ids, outcome, reason=_reason(), action=action)
        db().commit()
    except review.ReviewError as exc:
        db().rollback()
        flash(_message(exc), "error")
        return redirect(request.referrer or url_for("console.queue"))
    flash(
        ngettext("%(num)s item decided.", "%(num)s items decided.", len(result.decided))
        + (" " + _("Skipped: %(n)s.", n=len(result.skipped)) if result.skipped else ""),
        "ok",
    )
    return redirect(url_for("console.queue"))


def action_name(action: str) -> str:
    return str(
        {
            "remove": _("Remove"),
            "restrict": _("Restrict"),
            "label": _("Label"),
            "no_action": _("Allow"),
            "review": _("Review"),
            "restore": _("Restore"),
        }.get(action, action)
    )


def _message(exc: review.ReviewError) -> str:
    messages = {
        "claimed": _("Another moderator is working on this item."),
        "already_decided": _("This item has already been decided."),
        "reason_required": _("A reason is required."),
        "reason_too_long": _("The reason is too long."),
        "invalid_action": _("Choose remove, restrict or label."),
        "invalid_outcome": _("Choose a decision."),
        "escalated": _("This item was escalated to the senior moderators."),
        "forbidden": _("Your role does not allow this page or action."),
        "not_found": _("There is no such page or item."),
        "unavailable": _("Not available in this installation."),
    }
    return str(messages.get(exc.code, exc.message))


bp.add_app_template_global(action_name, "action_name")


# --------------------------------------------------------------------------------------------------------------------
# Appeals and authority requests


@bp.route("/appeals")
@require("appeals")
def appeals() -> Any:
    rows = review.pending_appeals(db())
    decisions = {}
    for r in rows:
        try:
            decisions[r["id"]] = review.item_view(db(), str(r.get("decision_id")))
        except review.ReviewError:
            continue
    return render_template("console/appeals.html", rows=rows, decisions=decisions)


@bp.route("/appeals/<appeal_id>/decide", methods=["POST"])
@require("appeals")
def appeal_decide(appeal_id: str) -> Any:
    outcome = request.form.get("outcome", "")
    if outcome not in {"upheld", "reversed"}:
        flash(_("Choose a decision."), "error")
        return redirect(url_for("console.appeals"))
    try:
        review.decide_appeal(db(), user(), appeal_id, outcome, _reason())
        db().commit()
    except review.ReviewError as exc:
        db().rollback()
        flash(_message(exc), "error")
        return redirect(url_for("console.appeals"))
    flash(_("Appeal decided."), "ok")
    return redirect(url_for("console.appeals"))


# --------------------------------------------------------------------------------------------------------------------
# Registry, audit, users


@bp.route("/registry")
@require("registry")
def registry() -> Any:
    q = request.args.get("q", "")
    status = request.args.get("status") or None
    rows = review.search_blogs(db(), q, status=status)
    return render_template("console/registry.html", rows=rows, q=q, status=status or "")


@bp.route("/audit")
@require("audit")
def audit_trail() -> Any:
    before = request.args.get("before", type=int)
    entries = review.audit_page(
        db(),
        actor=request.args.get("actor", ""),
        action=request.args.get("action", ""),
        object_id=request.args.get("object", ""),
        before=before,
    )
    return render_template("console/audit.html", entries=entries, args=request.args)


@bp.route("/users", methods=["GET", "POST"])
@require("users")
def users() -> Any:
    totp_secret = None
    if request.method == "POST":
        op = request.form.get("op")
        try:
            if op == "create":
                _created, totp_secret = review.create_user(
                    db(),
                    request.form.get("username", ""),
                    request.form.get("password", ""),
                    request.form.get("role", ""),
                    totp=bool(request.form.get("totp")),
                    actor=actor(),
                )
                flash(_("Account created."), "ok")
            elif op == "unlock":
                target = db().get(User, request.form.get("user_id", ""))
                if target is None:
                    abort(404)
                review.unlock_user(db(), target, actor())
                flash(_("Account unlocked."), "ok")
            db().commit()
        except review.ReviewError as exc:
            db().rollback()
            flash(exc.message, "error")
    from sqlalchemy import select

    accounts = list(db().scalars(select(User).order_by(User.username)))
    return render_template(
        "console/users.html",
        accounts=accounts,
        roles=review.ROLES,
        totp_secret=totp_secret,
        now_dt=dt.datetime.now(dt.UTC),
    )


# --------------------------------------------------------------------------------------------------------------------
# Authority requests and notices: the same services (and schema checks) as the platform API


def _policies_dir() -> Path:
    return runtime().settings.policies_dir


def _packs() -> Any:
    return runtime().classifiers.packs()


def field_label(name: str | None) -> str:
    """The form field an error is about, in the page's language."""
    labels = {
        "platform_id": _("Platform"),
        "issuing_body": _("Issuing body"),
        "document_number": _("Document number"),
        "document_date": _("Document date"),
        "received_at": _("Received at"),
        "targets": _("Targets"),
        "legal_basis": _("Legal basis"),
        "deadline_hours": _("Deadline (hours)"),
        "attachments": _("Attachments"),
        "notifier": _("Notifier"),
        "notifier.name": _("Notifier's name"),
        "notifier.contact": _("Contact"),
        "notifier.capacity": _("Capacity"),
        "category": _("Category claimed"),
        "explanation": _("Explanation"),
        "good_faith": _("Good-faith statement"),
        "work": _("Work concerned"),
        "name": _("Name"),
        "callback_url": _("Callback URL"),
    }
    name = name or ""
    for key in (name, name.split("[")[0], name.split(".")[0]):
        if key in labels:
            return str(labels[key])
    return name


def form_error(exc: review.ReviewError) -> str:
    if exc.code == "forbidden":
        return _message(exc)
    return str(_("Not recorded. %(field)s: %(message)s", field=field_label(exc.field) or "—", message=exc.message))


@bp.route("/authority")
@require("authority")
def authority() -> Any:
    open_requests, closed = review.authority_requests(db())
    db().commit()  # targets whose item arrived late were decided just now
    return render_template("console/authority.html", open_requests=open_requests, closed=closed)


@bp.route("/authority/new", methods=["GET", "POST"])
@require("authority")
def authority_new() -> Any:
    bases = review.legal_bases(_packs())
    default_hours = workflow_services.ladder_for(None, _policies_dir()).deadline("authority_request_hours")
    error = None
    if request.method == "POST":
        try:
            files = [(f.filename or "", f.stream) for f in request.files.getlist("attachments") if f.filename]
            payload = review.authority_payload(request.form, review.attachment_hashes(files), bases)
            row, created = review.record_authority_request(
                db(), user(), request.form.get("platform_id"), payload, policies_dir=_policies_dir()
            )
            db().commit()  # the removal callbacks are enqueued by the commit
        except review.ReviewError as exc:
            db().rollback()
            error = form_error(exc)
        else:
            if created:
                flash(_("Authority request %(doc)s recorded.", doc=row.document_number), "ok")
            else:
                flash(_("This document was already recorded; nothing was changed."), "error")
            return redirect(url_for("console.authority", _anchor=row.id))
    page = render_template(
        "console/authority_new.html",
        bases=bases,
        platforms=review.platform_choices(db()),
        default_hours=default_hours,
        error=error,
        form=request.form,
    )
    return page, 422 if error else 200


@bp.route("/authority/<request_id>/confirm", methods=["POST"])
@require("authority")
def authority_confirm(request_id: str) -> Any:
    try:
        review.confirm_authority_request(db(), user(), request_id, request.form.getlist("target"))
        db().commit()
    except review.ReviewError as exc:
        db().rollback()
        if exc.code == "not_found":
            abort(404)
        flash(form_error(exc), "error")
    else:
        flash(_("Compliance recorded."), "ok")
    return redirect(url_for("console.authority", _anchor=request_id))


@bp.route("/notices")
@require("notices")
def notices() -> Any:
    rows = review.recent_notices(db(), policies_dir=_policies_dir())
    db().commit()  # outcomes brought up to date
    return render_template("console/notices.html", rows=rows)


@bp.route("/notices/new", methods=["GET", "POST"])
@require("notices")
def notice_new() -> Any:
    categories = [(c.id, c.name_vi, p.id) for p in _packs() for c in p.categories.values()]
    error = None
    if request.method == "POST":
        try:
            payload = review.notice_payload(request.form)
            notice = review.record_notice(
                db(), user(), request.form.get("platform_id"), payload, policies_dir=_policies_dir()
            )
            db().commit()
        except review.ReviewError as exc:
            db().rollback()
            error = form_error(exc)
        else:
            flash(_("Notice %(id)s recorded; the items it names are in the review queue.", id=notice.id), "ok")
            return redirect(url_for("console.notices", _anchor=notice.id))
    page = render_template(
        "console/notice_new.html",
        categories=categories,
        capacities=review.NOTICE_CAPACITIES,
        platforms=review.platform_choices(db()),
        error=error,
        form=request.form,
    )
    return page, 422 if error else 200


def capacity_name(capacity: str) -> str:
    return str(
        {
            "user": _("User"),
            "affected_person": _("Affected person"),
            "rights_holder": _("Rights holder"),
            "trusted_organisation": _("Trusted organisation"),
        }.get(capacity, capacity)
    )


def outcome_name(outcome: str | None) -> str:
    return str(
        {
            "actioned": _("actioned"),
            "rejected": _("unfounded"),
            "not_found": _("not found"),
            "decided": _("decided"),
            "unresolved": _("not received yet"),
            "acted": _("removed"),
        }.get(outcome or "", outcome or _("pending"))
    )


bp.add_app_template_global(capacity_name, "capacity_name")
bp.add_app_template_global(outcome_name, "outcome_name")


# --------------------------------------------------------------------------------------------------------------------
# Administration: platforms and policy packs (admin only)


@bp.route("/platforms", methods=["GET", "POST"])
@require("platforms")
def platforms() -> Any:
    shown: dict[str, str] | None = None  # a new key and secret, in this response only (never flashed: cookies)
    status = 200
    if request.method == "POST":
        op = request.form.get("op")
        try:
            if op == "create":
                platform, secret = review.create_platform(
                    db(),
                    user(),
                    request.form.get("name", ""),
                    request.form.get("callback_url"),
                    is_test=bool(request.form.get("is_test")),
                )
                shown = {"id": platform.id, "name": platform.name, "key": platform.key, "secret": secret}
                flash(_("Platform created. Copy the secret now: it is not shown again."), "ok")
            elif op == "rotate":
                platform, secret = review.rotate_platform_secret(db(), user(), request.form.get("platform_id", ""))
                shown = {"id": platform.id, "name": platform.name, "key": platform.key, "secret": secret}
                flash(_("New secret issued; the old one no longer works. Copy it now."), "ok")
            elif op == "update":
                review.update_platform(
                    db(),
                    user(),
                    request.form.get("platform_id", ""),
                    callback_url=request.form.get("callback_url"),
                    is_test=bool(request.form.get("is_test")),
                )
                flash(_("Platform updated."), "ok")
            else:
                raise review.ReviewError("invalid_value", "unknown operation", "op")
            db().commit()
        except review.ReviewError as exc:
            db().rollback()
            if exc.code == "not_found":
                abort(404)
            flash(form_error(exc), "error")
            status = 422
    page = render_template("console/platforms.html", rows=review.platforms_overview(db()), shown=shown)
    return page, status


@bp.route("/packs")
@require("packs")
def packs() -> Any:
    return render_template("console/packs.html", packs=review.pack_summaries(_packs()))


# --------------------------------------------------------------------------------------------------------------------
# Reports (Circular 07/2008 §6): the same services as the CLI, the beat and GET /v1/reports (compliance, admin)


def vn_today() -> dt.date:
    return dt.datetime.now(i18n.VN_TZ).date()


def report_field_label(name: str) -> str:
    labels = {
        "platform_id": _("Platform"),
        "kind": _("Kind"),
        "year": _("Year"),
        "half": _("Half"),
        "from": _("From"),
        "to": _("To"),
        "number": _("Document number"),
        "date": _("Date line"),
        **profile_labels(),
    }
    return str(labels.get(name, name))


def profile_labels() -> dict[str, str]:
    return {
        "provider_name": _("Provider name"),
        "registration_number": _("Number of the Ministry's registration confirmation"),
        "registration_date": _("Date of the registration confirmation"),
        "service_start_date": _("Date the blog service started"),
        "office_address": _("Office address"),
        "representative_name": _("Representative's name"),
        "representative_title": _("Representative's title"),
        "representative_phone": _("Representative's phone"),
        "representative_email": _("Representative's e-mail"),
        "place": _("Place on the date line"),
        "recipients": _("Recipients (one per line; empty: the Ministry and the provincial Department)"),
    }


def report_error(exc: reports_service.RequestInvalid) -> str:
    return str(_("Not done. %(field)s: %(message)s", field=report_field_label(exc.field), message=exc.message))


def report_status_name(status: str) -> str:
    return str({"draft": _("draft"), "final": _("final"), "none": _("no report")}.get(status, status))


def scope_name(platform_id: str | None, names: dict[str, str] | None = None) -> str:
    if platform_id is None:
        return str(_("All platforms"))
    return (names or {}).get(platform_id, platform_id)


bp.add_app_template_global(report_status_name, "report_status_name")
bp.add_app_template_global(metric_label, "metric_label")
bp.add_app_template_global(format_value, "format_value")


def _report_or_404(report_id: str) -> Report:
    row = db().get(Report, report_id) if len(report_id) <= 40 else None
    if row is None:
        abort(404)
    return row


def _platform_names() -> dict[str, str]:
    from sqlalchemy import select

    return {p.id: p.name for p in db().scalars(select(Platform))}


def _reports_page(error: str | None = None, form: Any = None) -> tuple[str, int]:
    today = vn_today()
    last = last_closed_period(today)
    specs = get_calendar(last.regime).periods
    platforms = reports_service.reporting_platforms(db())
    page = render_template(
        "console/reports.html",
        overview=reports_service.semiannual_overview(db(), today),
        reminders=reports_service.open_reminders(db(), today),
        stored=reports_service.listing(db(), limit=100),
        platforms=platforms,
        names=_platform_names(),
        gaps={p.id: reports_service.profile_gaps(p) for p in platforms},
        profile_labels=profile_labels(),
        halves=list(enumerate(specs, start=1)),
        default_year=last.first_day.year,
        default_half=[spec.name for spec in specs].index(last.name) + 1,
        today=today,
        error=error,
        form=form if form is not None else {},
    )
    return page, 422 if error else 200


@bp.route("/reports")
@require("reports")
def reports_page() -> Any:
    return _reports_page()


@bp.route("/reports/generate", methods=["POST"])
@require("reports")
def report_generate() -> Any:
    form = request.form
    try:
        scope = form.get("platform_id") or ""
        platform_id = None if scope == "all" else scope
        if platform_id is not None and db().get(Platform, platform_id) is None:
            raise reports_service.RequestInvalid("platform_id", "no such platform")
        period = reports_service.requested_period(form.get("kind", ""), form, vn_today())
        number, day = reports_service.requested_document(form)
        row = reports_service.generate(
            db(),
            platform_id,
            period.kind,
            period.first_day,
            period.last_day,
            period.regime,
            number=number,
            report_date=day,
            actor=actor(),
            reuse_unchanged=True,
        )
        db().commit()
    except reports_service.RequestInvalid as exc:
        db().rollback()
        return _reports_page(report_error(exc), form)
    except (LookupError, ProfileError) as exc:
        db().rollback()
        return _reports_page(str(_("Not done: %(message)s", message=str(exc))), form)
    flash(_("Report %(period)s version %(version)s generated.", period=row.period_key, version=row.version), "ok")
    return redirect(url_for("console.report_detail", report_id=row.id))


@bp.route("/reports/<report_id>")
@require("reports")
def report_detail(report_id: str) -> Any:
    row = _report_or_404(report_id)
    try:
        reports_service.frozen_of(row)
        intact = True
    except ReportIntegrityError:
        intact = False
    content = row.content.get("content") or {}
    figures = [f for f in content.get("figures", []) if not f.get("dimension")]
    return render_template(
        "console/report.html",
        r=row,
        intact=intact,
        content=content,
        document=row.content.get("document") or {},
        figures=figures,
        versions=reports_service.versions(db(), row.platform_id, row.kind, row.period_key),
        scope=scope_name(row.platform_id, _platform_names()),
        formats=FORMATS,
    )


@bp.route("/reports/<report_id>/regenerate", methods=["POST"])
@require("reports")
def report_regenerate(report_id: str) -> Any:
    row = _report_or_404(report_id)
    try:
        new = reports_service.regenerate(db(), row, actor=actor())
        db().commit()
    except (LookupError, ProfileError, ValueError) as exc:
        db().rollback()
        flash(_("Not done: %(message)s", message=str(exc)), "error")
        return redirect(url_for("console.report_detail", report_id=row.id))
    if new.changes:
        flash(_("Version %(version)s generated: the numbers changed (listed below).", version=new.version), "error")
    else:
        flash(_("Version %(version)s generated: the same numbers and ids.", version=new.version), "ok")
    return redirect(url_for("console.report_detail", report_id=new.id))


@bp.route("/reports/<report_id>/finalize", methods=["POST"])
@require("reports")
def report_finalize(report_id: str) -> Any:
    row = _report_or_404(report_id)
    try:
        reports_service.frozen_of(row)
    except ReportIntegrityError:
        flash(_("This version does not match its SHA-256: regenerate it."), "error")
        return redirect(url_for("console.report_detail", report_id=row.id))
    if row.status != "final":
        reports_service.finalize(db(), row, actor=actor())
        db().commit()
        flash(_("Version %(version)s marked final.", version=row.version), "ok")
    return redirect(url_for("console.report_detail", report_id=row.id))


@bp.route("/reports/<report_id>/file.<fmt>")
@require("reports")
def report_file(report_id: str, fmt: str) -> Any:
    if fmt not in FORMATS:
        abort(404)
    row = _report_or_404(report_id)
    try:
        body = reports_service.render(row, fmt)
    except ReportIntegrityError:
        return _error_page(409, _("Error"), _("This version does not match its SHA-256: regenerate it."))
    response = Response(body, content_type=reports_service.MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{reports_service.filename(row, fmt)}"'
    response.headers["X-Report-Sha256"] = row.sha256
    return response


@bp.route("/reports/profile/<platform_id>", methods=["GET", "POST"])
@require("reports")
def report_profile(platform_id: str) -> Any:
    platform = db().get(Platform, platform_id) if len(platform_id) <= 40 else None
    if platform is None:
        abort(404)
    error = None
    form: Any = request.form
    if request.method == "POST":
        try:
            changed = reports_service.update_profile(db(), platform, request.form, actor=actor(), today=vn_today())
            db().commit()
        except reports_service.RequestInvalid as exc:
            db().rollback()
            error = report_error(exc)
        else:
            if changed:
                flash(_("Provider profile saved."), "ok")
            else:
                flash(_("Nothing changed."), "ok")
            return redirect(url_for("console.reports_page"))
    else:
        stored = dict(platform.profile or {})
        stored["recipients"] = "\n".join(stored.get("recipients") or [])
        form = stored
    page = render_template(
        "console/report_profile.html",
        platform=platform,
        form=form,
        labels=profile_labels(),
        dates=reports_service.PROFILE_DATES,
        error=error,
        defaults={f.name: f.default for f in dataclasses.fields(ProviderProfile)},
    )
    return page, 422 if error else 200
