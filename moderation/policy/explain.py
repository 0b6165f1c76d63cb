"""Explain a stored evaluation rule by rule: why each rule fired, was downgraded or cleared, or did not fire."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _citation(c: Mapping[str, Any]) -> str:
    parts = [str(c.get("instrument", ""))]
    for key, label in (("article", "Art."), ("clause", "cl."), ("point", "pt.")):
        if c.get(key):
            parts.append(f"{label} {c[key]}")
    via = c.get("via")
    if isinstance(via, Mapping):
        parts.append(f"-> {_citation(via)}")
    if c.get("status"):
        parts.append(f"[{c['status']}]")
    return " ".join(parts)


def explain_text(ev_json: Mapping[str, Any]) -> str:
    """Render ``Evaluation.to_json()`` as text: the verdict, each category with its citation and evidence, then
    every rule of every pack with each condition's outcome. A stored record (``Evaluation.to_record``) whose quiet
    rules were not rebuilt (``Classifier.expand_record``: their pack version is not loaded) lists them by id."""
    lines = [f"verdict: {ev_json.get('verdict')}    content date: {ev_json.get('content_date', '?')}"]
    for pid, version in sorted(ev_json.get("packs", {}).items()):
        info = ev_json.get("pack_info", {}).get(pid, {})
        extra = f" ({info.get('version_label')}, {info.get('status')})" if info else ""
        lines.append(f"pack {pid}{extra} version {version[:12]}")
    cats = ev_json.get("categories", [])
    lines.append("")
    lines.append("categories:" if cats else "categories: none")
    for c in cats:
        lines.append(
            f"  - {c['id']} [{c['mode']}] action={c['action']} score={c['score']:.2f} rule={c['rule_id']}"
            f" ({c.get('name_en', '')})"
        )
        lines.append(f"    citation: {_citation(c.get('citation', {}))}")
        if c.get("bracket"):
            b = c["bracket"]
            lines.append(
                f"    bracket (information only): {b['min_vnd']:,}-{b['max_vnd']:,} VND, {b['kind']}: {b['basis']}"
            )
        if c.get("context"):
            lines.append(f"    context: {', '.join(c['context'])}")
        for sp in c.get("evidence", [])[:10]:
            lines.append(f"    evidence {sp['field']}[{sp['start']}:{sp['end']}] {sp['text']!r}")
        if c.get("note"):
            lines.append(f"    note: {c['note']}")
    lines.append("")
    lines.append("rules:")
    for r in ev_json.get("rules", []):
        head = f"  {r['pack']}/{r['rule']} -> {r['category']} [{r['mode']}]: {r['outcome']}"
        if r.get("action"):
            head += f" ({r['action']})"
        lines.append(head)
        lines.append(f"    because {r['reason']}")
        if r.get("context"):
            lines.append(f"    context cues: {', '.join(r['context'])}")
        if r.get("note"):
            lines.append(f"    note: {r['note']}")
        for cond in r.get("conditions", []):
            mark = "yes" if cond["matched"] else "no "
            lines.append(f"      {mark} {cond['group']}[{cond['index']}] {cond['condition']}: {cond['detail']}")
    for pack_id, rule_ids in (ev_json.get("quiet_rules") or {}).items():
        version = str((ev_json.get("packs") or {}).get(pack_id, "?"))[:12]
        for rule_id in rule_ids:
            lines.append(f"  {pack_id}/{rule_id}: not fired")
            lines.append(
                f"    because none of its conditions had input (pack version {version} is not loaded here, "
                "so they are not listed one by one)"
            )
    errors = ev_json.get("detector_errors", [])
    for e in errors:
        lines.append(f"detector error: {e.get('detector')}: {e.get('error')}")
    return "\n".join(lines) + "\n"
