"""The public rules page (Circular 07/2008 §5.1: the provider publishes its rules for blogs).

Rendered from the policy packs in force, so the page always says what the service enforces: each category with
its names, the law it cites, its severity and the remedy. ``?lang=en`` for English.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue

from moderation.web.auth import runtime

bp = Blueprint("rules", __name__, template_folder="templates")

TEXT = {
    "vi": {
        "title": "Quy định về cung cấp, trao đổi thông tin trên blog",
        "intro": "Trang này công bố các hành vi bị nghiêm cấm mà dịch vụ kiểm duyệt áp dụng cho nội dung trên blog, "
        "theo Thông tư 07/2008/TT-BTTTT (khoản 1 Điều 5). Mỗi quyết định kiểm duyệt nêu rõ quy định, phiên bản "
        "bộ quy tắc và điều khoản pháp luật làm căn cứ.",
        "category": "Hành vi",
        "citation": "Căn cứ",
        "action": "Xử lý",
        "severity": "Mức độ",
        "version": "Phiên bản",
        "draft": "Dự thảo — chỉ để tham khảo, không dùng để xử phạt",
        "actions": {"remove": "Gỡ bỏ", "review": "Người kiểm duyệt xem xét", "label": "Ghi nhận"},
        "other": "English",
    },
    "en": {
        "title": "Rules for providing and exchanging information on blogs",
        "intro": "This page publishes the prohibited acts the moderation service applies to blog content under "
        "Circular 07/2008/TT-BTTTT (Art. 5.1). Every moderation decision names the rule, the version of the rule "
        "pack and the article of law it rests on.",
        "category": "Prohibited act",
        "citation": "Legal basis",
        "action": "Action",
        "severity": "Severity",
        "version": "Version",
        "draft": "Draft — for information only, never used to sanction",
        "actions": {"remove": "Removed", "review": "Reviewed by a moderator", "label": "Recorded"},
        "other": "Tiếng Việt",
    },
}


def citation_text(citation: dict[str, object]) -> str:
    """Format a citation as a lawyer reads it: point, clause, article, instrument."""
    parts = []
    for key, label in (("point", "điểm"), ("clause", "khoản"), ("article", "Điều")):
        value = citation.get(key)
        if value not in (None, ""):
            parts.append(f"{label} {value}")
    parts.append(str(citation.get("instrument", "")))
    text = " ".join(p for p in parts if p)
    via = citation.get("via")
    if isinstance(via, dict):
        text += f" (dẫn chiếu {citation_text(via)})"
    return text


@bp.get("/rules")
def rules_page() -> ResponseReturnValue:
    lang = "en" if request.args.get("lang") == "en" else "vi"
    packs = runtime().classifiers.packs()
    return render_template("rules.html", packs=packs, lang=lang, t=TEXT[lang], cite=citation_text)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
