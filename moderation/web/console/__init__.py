"""The moderators' console: server-rendered pages under ``/console``, Vietnamese first.

``init_app(app)`` registers the blueprint, its translations (Flask-Babel, domain ``console``) and CSRF protection
scoped to this blueprint only (the platform API stays exempt: it is authenticated by HMAC signatures, not cookies).
"""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from moderation.web.console import i18n
from moderation.web.console.views import bp, csrf

__all__ = ["bp", "csrf", "init_app"]


def init_app(app: Flask) -> None:
    """Attach the console to ``app``."""
    # CSRFProtect checks nothing by itself; the console's before_request calls ``csrf.protect()`` on its own forms.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 12 * 3600)  # a moderator's shift
    app.config["SESSION_COOKIE_SECURE"] = not app.debug
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("CONSOLE_SESSION_HOURS", 8)
    app.permanent_session_lifetime = dt.timedelta(hours=int(app.config["CONSOLE_SESSION_HOURS"]))
    if not isinstance(app.extensions.get("csrf"), CSRFProtect):
        csrf.init_app(app)
    i18n.init_app(app)
    app.register_blueprint(bp)
