"""Report tasks (Circular 07/2008 §6): thin adapters around ``moderation.services.reports``.

* ``moderation.reports.draft_closed_periods``: when a reporting period closes, draft the semiannual report of every
  non-test platform (idempotent; the window runs from the last draft).
* ``moderation.reports.reminders``: 10 and 3 days before the due date, log, write an audit entry (once per period and
  day count) and, when ``MODERATION_SMTP_URL`` is set, e-mail the compliance officers.

``MODERATION_SMTP_URL``: ``smtp://[user:password@]host[:port]/?from=ADDR&to=ADDR,ADDR[&starttls=1]`` or
``smtps://…`` (TLS from the start). Recipients are ``to`` plus the representative e-mail in the profile of each
platform that has no final report for the period.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from celery import shared_task
from flask import current_app

from moderation.services import reports
from moderation.store.base import utcnow
from moderation.web.runtime import Runtime

log = logging.getLogger(__name__)

SMTP_ENV = "MODERATION_SMTP_URL"
SMTP_TIMEOUT_S = 20
DEFAULT_FROM = "moderation@localhost"


def run_draft_closed_periods(rt: Runtime, now: dt.datetime | None = None) -> list[str]:
    """Draft the reports of periods closed since the last run; return the new report ids."""
    with rt.sessions() as session:
        drafted = reports.draft_closed_periods(session, now or utcnow())
        ids = [r.id for r in drafted]
        for r in drafted:
            log.info(
                "report drafted",
                extra={"report_id": r.id, "platform_id": r.platform_id, "period": r.period_key, "sha256": r.sha256},
            )
        session.commit()
    return ids


def smtp_settings(url: str) -> tuple[str, str, int, str | None, str | None, str, list[str], bool]:
    """Parse ``MODERATION_SMTP_URL``: scheme, host, port, user, password, sender, recipients, STARTTLS."""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ValueError(f"{SMTP_ENV} must be smtp://host[:port]/?from=…&to=… or smtps://…")
    query = parse_qs(parts.query)
    recipients = [a.strip() for v in query.get("to", []) for a in v.split(",") if a.strip()]
    sender = (query.get("from") or [DEFAULT_FROM])[0]
    port = parts.port or (465 if parts.scheme == "smtps" else 25)
    starttls = (query.get("starttls") or ["0"])[0].lower() in {"1", "true", "yes"}
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.scheme, parts.hostname, port, user, password, sender, recipients, starttls


def send_mail(url: str, subject: str, body: str, extra_recipients: list[str]) -> list[str]:
    """Send one plain-text e-mail; return the recipients (none: nothing sent)."""
    scheme, host, port, user, password, sender, recipients, starttls = smtp_settings(url)
    to = list(dict.fromkeys([*recipients, *(r for r in extra_recipients if r)]))
    if not to:
        return []
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(to), subject
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if scheme == "smtps" else smtplib.SMTP
    with smtp_class(host, port, timeout=SMTP_TIMEOUT_S) as smtp:
        if starttls:
            smtp.starttls()
        if user:
            smtp.login(user, password or "")
        smtp.send_message(message)
    return to


def run_reminders(rt: Runtime, now: dt.datetime | None = None) -> list[str]:
    """Record the reminders due today and send them; return their keys (``2024-H1/10d``)."""
    with rt.sessions() as session:
        sent = reports.due_reminders(session, now or utcnow())
        session.commit()
    smtp_url = os.environ.get(SMTP_ENV, "").strip()
    for item in sent:
        extra = {
            "period": item.period.key,
            "due_before": item.due_before.isoformat(),
            "days_left": item.days_left,
            "platforms_without_final": [pid for pid, _, _ in item.platforms],
        }
        log.warning("report due soon: %s", item.subject(), extra=extra)
        if not smtp_url:
            continue
        try:
            to = send_mail(smtp_url, item.subject(), item.body(), [email for _, _, email in item.platforms])
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            log.error("report reminder e-mail failed: %s", exc, extra=extra)
            continue
        log.info("report reminder e-mailed", extra={**extra, "recipients": len(to)})
    return [item.key for item in sent]


@shared_task(name="moderation.reports.draft_closed_periods", acks_late=True, ignore_result=True)
def draft_closed_periods() -> list[str]:
    rt: Runtime = current_app.extensions["moderation"]
    return run_draft_closed_periods(rt)


@shared_task(name="moderation.reports.reminders", acks_late=True, ignore_result=True)
def reminders() -> list[str]:
    rt: Runtime = current_app.extensions["moderation"]
    return run_reminders(rt)
