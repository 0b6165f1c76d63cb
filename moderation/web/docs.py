"""The OpenAPI document and an interactive docs page served by the app itself (no CDN)."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_swagger_ui import get_swaggerui_blueprint

from moderation.web.openapi import build_openapi


def register(app: Flask) -> None:
    document = build_openapi()

    @app.get("/openapi.json")
    def openapi_json() -> ResponseReturnValue:
        return jsonify(document)

    app.register_blueprint(
        get_swaggerui_blueprint("/docs", "/openapi.json", config={"app_name": "Vietnamese content-moderation API"}),
        url_prefix="/docs",
    )
