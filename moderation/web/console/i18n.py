"""Translations for the console (Flask-Babel domain ``console``; Vietnamese by default, English available)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, request, session
from flask_babel import Babel, Domain

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

domain = Domain(translation_directories=[str(TRANSLATIONS)], domain="console")
gettext = domain.gettext
ngettext = domain.ngettext
lazy_gettext = domain.lazy_gettext
_ = gettext


def current_language() -> str:
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _console_selector(previous: Any) -> Any:
    def select() -> str | None:
        if request.blueprint == "console":
            return current_language()
        return previous() if previous is not None else None

    return select


def init_app(app: Flask) -> None:
    """Use the console's language on console pages, whoever else initialised Flask-Babel."""
    babel_cfg = app.extensions.get("babel")
    if babel_cfg is None:
        Babel(app, locale_selector=_console_selector(None))
    else:
        babel_cfg.locale_selector = _console_selector(babel_cfg.locale_selector)


def vn_time(value: dt.datetime | None, with_date: bool = True) -> str:
    """Format a UTC time in Vietnam's time zone (dd/mm/yyyy HH:MM), the way both audiences read it."""
    if value is None:
        return "—"
    local = value.astimezone(VN_TZ)
    return local.strftime("%d/%m/%Y %H:%M") if with_date else local.strftime("%H:%M")


def duration(delta: dt.timedelta | None) -> str:
    """A short duration: ``3 d 4 h``, ``2 h 05 min``, ``12 min`` (units translated)."""
    if delta is None:
        return "—"
    negative = delta.total_seconds() < 0
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = gettext("%(d)s d %(h)s h", d=days, h=hours)
    elif hours:
        text = gettext("%(h)s h %(m)02d min", h=hours, m=minutes)
    else:
        text = gettext("%(m)s min", m=minutes)
    return f"−{text}" if negative else text
