"""Policy packs: load a folder of YAML, validate it with ``file:line:column`` errors, and hash it into a version.

A pack is a directory with a ``pack.yaml`` entry file and data files (``*.yaml``) whose top-level sections are
``categories``, ``rules``, ``lexicons`` and ``patterns``. Sections owned by others (``enforcement`` for the strike
ladders) are kept as they are, validated by their owner's validator when it is installed, and hashed with the rest:
the version of a pack is the SHA-256 over every file in its folder (relative names and contents, sorted).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import regex
import yaml

from moderation.policy import schema as schemas
from moderation.policy.rules import FUNCTIONS, Condition, Rule

log = logging.getLogger(__name__)

ENTRY_FILE = "pack.yaml"
Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, order=True)
class PackError:
    """One validation error, printed as ``file:line:column: message``."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class PackValidationError(ValueError):
    """Raised by the loaders when a pack does not validate; carries every error found."""

    def __init__(self, errors: Sequence[PackError]) -> None:
        self.errors = sorted(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


# ---------------------------------------------------------------------------------------------------------------
# YAML with node marks


class _DupKeyLoader(yaml.SafeLoader):
    pass


# libyaml's parser with the same constructor and resolver (about 8x faster on the packs: most of their load time).
# It reads a document into the same nodes and marks; a document it refuses is read again by the pure-Python parser,
# so a syntax error is reported as before. A text with a tab goes to the pure-Python parser at once: it refuses tabs
# where libyaml takes them as white space ("a:<tab>1"), and a pack must not validate on one machine only.
_FastLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)


@dataclass(slots=True)
class MarkedDoc:
    """A YAML document as plain Python data plus the 1-based (line, column) of every node, by path."""

    file: str
    data: Any
    marks: dict[Path_, tuple[int, int]]
    key_marks: dict[Path_, tuple[int, int]]

    def at(self, path: Sequence[str | int], key: bool = False) -> tuple[int, int]:
        """Return the mark of ``path`` or of its nearest ancestor that has one."""
        p = tuple(path)
        while True:
            if key and p in self.key_marks:
                return self.key_marks[p]
            if p in self.marks:
                return self.marks[p]
            if not p:
                return (1, 1)
            p = p[:-1]

    def error(self, path: Sequence[str | int], message: str, key: bool = False) -> PackError:
        line, col = self.at(path, key)
        return PackError(self.file, line, col, message)


def _single_node(text: str) -> tuple[Any, yaml.Node | None]:
    """The loader that read ``text`` and its one document's node (libyaml's when it reads it, else the pure-Python
    parser's, whose error is raised)."""
    if _FastLoader is not None and "\t" not in text:
        fast = _FastLoader(text)
        try:
            return fast, fast.get_single_node()
        except yaml.YAMLError:
            fast.dispose()
    loader = _DupKeyLoader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.YAMLError:
        loader.dispose()
        raise


def load_marked(text: str, file: str) -> tuple[MarkedDoc | None, list[PackError]]:
    """Parse one YAML document keeping node marks; report syntax errors and duplicate keys with positions."""
    errors: list[PackError] = []
    try:
        loader, node = _single_node(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [PackError(file, line, col, f"YAML: {exc.problem or exc.context}")]
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (a control character): where it is
        at = max(0, min(int(exc.position), len(text)))
        line, col = text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
        return None, [PackError(file, line, col, f"YAML: unacceptable character #x{exc.character:04x}: {exc.reason}")]
    doc = MarkedDoc(file, None, {}, {})

    def conv(n: yaml.Node, path: Path_) -> Any:
        doc.marks[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k_node, v_node in n.value:
                key = loader.construct_object(k_node, deep=True)
                if isinstance(key, dt.date):
                    key = key.isoformat()
                kpath = (*path, key)
                if key in out:
                    errors.append(
                        PackError(
                            file, k_node.start_mark.line + 1, k_node.start_mark.column + 1, f"duplicate key {key!r}"
                        )
                    )
                doc.key_marks[kpath] = (k_node.start_mark.line + 1, k_node.start_mark.column + 1)
                out[key] = conv(v_node, kpath)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [conv(v, (*path, i)) for i, v in enumerate(n.value)]
        value = loader.construct_object(n, deep=True)
        # Dates stay strings: the schemas and the hash see what was written.
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    try:
        doc.data = conv(node, ()) if node is not None else None
    except yaml.YAMLError as exc:
        return None, [PackError(file, 1, 1, f"YAML: {exc}")]
    finally:
        loader.dispose()
    return doc, errors


def _schema_errors(doc: MarkedDoc, schema: Mapping[str, Any], base: Path_ = ()) -> list[PackError]:
    value: Any = doc.data
    for p in base:
        value = value[p]
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for err in validator.iter_errors(value):
        path = (*base, *err.absolute_path)
        msg = err.message if len(err.message) <= 160 else err.message[:157] + "..."
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            if extra:
                out.append(doc.error((*path, extra[0]), f"unknown field {extra[0]!r}", key=True))
                continue
        where = ".".join(str(p) for p in err.absolute_path)
        out.append(doc.error(path, f"{where}: {msg}" if where else msg))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The loaded pack


@dataclass(frozen=True, slots=True)
class Bracket:
    """A fine bracket of a draft decree, reported as information only."""

    kind: str  # making | spreading | any
    min_vnd: int
    max_vnd: int
    basis: str
    clause: str | None = None
    verification: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "min_vnd": self.min_vnd,
            "max_vnd": self.max_vnd,
            "currency": "VND",
            "basis": self.basis,
            "clause": self.clause,
            "verification": self.verification,
            "informational": True,
        }


@dataclass(frozen=True, slots=True)
class Category:
    """A prohibited act as a pack defines it: names, citation, period, severity, default action, remedies."""

    id: str
    name_vi: str
    name_en: str
    citation: Mapping[str, Any]
    severity: int
    default_action: str
    remedies: tuple[str, ...] = ()
    effective_from: str | None = None
    effective_until: str | None = None
    brackets: Mapping[str, Bracket] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, slots=True)
class LexiconDef:
    """A term list as written in the pack (compiled by the engine, once per pack version)."""

    id: str
    terms: tuple[tuple[str, float, bool], ...]  # (term, weight, fold diacritics)
    match: str = "word"
    fold: bool = True


@dataclass(frozen=True, slots=True)
class PatternDef:
    """A regular expression as written in the pack."""

    id: str
    pattern: str
    fold: bool = True
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """How context cues (legal text, news, quotation) change a rule's action."""

    cues: Mapping[str, str] = field(default_factory=dict)  # cue name -> lexicon id
    window: int = 200
    quotation: bool = True
    downgrade_at: int = 1  # this many distinct cues near the evidence: remove -> review
    clear_at: int = 3  # this many: the text discusses the act; the category does not hold


@dataclass(frozen=True, slots=True)
class Pack:
    """One validated, immutable policy pack."""

    id: str
    version: str
    name_vi: str
    name_en: str
    version_label: str
    jurisdiction: str
    status: str
    status_label: str
    effective_from: str
    effective_until: str | None
    mode: str
    path: Path
    files: tuple[str, ...]
    categories: Mapping[str, Category]
    rules: tuple[Rule, ...]
    lexicons: Mapping[str, LexiconDef]
    patterns: Mapping[str, PatternDef]
    context: ContextPolicy
    instrument: Mapping[str, Any] = field(default_factory=dict)
    additional_penalties: tuple[str, ...] = ()
    remedies: tuple[str, ...] = ()
    sections: Mapping[str, Any] = field(default_factory=dict)  # sections owned by others, e.g. "enforcement"

    def in_force_on(self, day: dt.date) -> bool:
        return _in_period(day, self.effective_from, self.effective_until)


def _in_period(day: dt.date, start: str | None, until: str | None) -> bool:
    if start and day < dt.date.fromisoformat(start):
        return False
    return not (until and day >= dt.date.fromisoformat(until))


def pack_files(pack_dir: Path) -> list[Path]:
    """List every file of a pack (hidden files and caches excluded), sorted by relative name."""
    out = []
    for p in pack_dir.rglob("*"):
        rel = p.relative_to(pack_dir)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file():
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(pack_dir).as_posix())


def hash_pack(pack_dir: Path) -> str:
    """Return the SHA-256 over the pack's files: each relative name and content, length-prefixed, sorted."""
    h = hashlib.sha256()
    for p in pack_files(pack_dir):
        name = p.relative_to(pack_dir).as_posix().encode()
        data = p.read_bytes()
        h.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _ladder_validator() -> Callable[[Any], list[Any]] | None:
    try:
        mod = importlib.import_module("moderation.workflow.ladder")
    except ImportError:
        return None
    fn = getattr(mod, "validate_ladder", None)
    return fn if callable(fn) else None


def _pattern_linter() -> Callable[[str], Any] | None:
    try:
        mod = importlib.import_module("moderation.detect.patterns")
    except ImportError:
        return None
    fn = getattr(mod, "lint_pattern", None)
    return fn if callable(fn) else None


def _lint_messages(result: Any) -> list[str]:
    """Turn whatever ``lint_pattern`` returns (None, a string, a list of strings or objects) into messages."""
    if not result:
        return []
    if isinstance(result, str):
        return [result]
    if isinstance(result, list | tuple):
        return [str(getattr(r, "message", r)) for r in result]
    return [str(getattr(result, "message", result))]


def _display(root: Path, p: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def load_pack(pack_dir: Path, display_root: Path | None = None) -> tuple[Pack | None, list[PackError]]:
    """Load and validate one pack; return it (None when invalid) and every error found."""
    root = display_root or pack_dir.parent
    errors: list[PackError] = []
    docs: list[MarkedDoc] = []
    entry: MarkedDoc | None = None
    for p in pack_files(pack_dir):
        if p.suffix not in {".yaml", ".yml"}:
            continue  # README, notes: hashed, not parsed
        disp = _display(root, p)
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            errors.append(PackError(disp, 1, 1, f"not UTF-8: {exc.reason}"))
            continue
        doc, errs = load_marked(text, disp)
        errors.extend(errs)
        if doc is None:
            continue
        if p.name == ENTRY_FILE and p.parent == pack_dir:
            entry = doc
        else:
            docs.append(doc)
    if entry is None:
        return None, [*errors, PackError(_display(root, pack_dir / ENTRY_FILE), 1, 1, "no pack entry file or invalid")]
    if not isinstance(entry.data, dict):
        return None, [*errors, entry.error((), "pack.yaml must be a mapping")]
    errors.extend(_schema_errors(entry, schemas.PACK_SCHEMA))
    if errors:
        return None, errors

    meta = entry.data
    pack_id = str(meta["id"])
    if pack_id != pack_dir.name:
        errors.append(entry.error(("id",), f"pack id {pack_id!r} differs from its folder name {pack_dir.name!r}"))

    categories: dict[str, tuple[MarkedDoc, Path_, dict[str, Any]]] = {}
    rules_raw: list[tuple[MarkedDoc, Path_, dict[str, Any]]] = []
    lexicons: dict[str, LexiconDef] = {}
    patterns: dict[str, PatternDef] = {}
    sections: dict[str, Any] = {}
    ladder = _ladder_validator()
    linter = _pattern_linter()
    seen: dict[tuple[str, str], tuple[str, int, int]] = {}
    broken: set[tuple[str, str]] = set()  # (section, id) of entries that failed their schema

    def dup(doc: MarkedDoc, path: Path_, kind: str, id_: str) -> bool:
        key = (kind, id_)
        if key in seen:
            f, line, col = seen[key]
            errors.append(doc.error((*path, "id"), f"duplicate {kind} id {id_!r} (first defined at {f}:{line}:{col})"))
            return True
        line, col = doc.at((*path, "id"))
        seen[key] = (doc.file, line, col)
        return False

    for doc in docs:
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            errors.append(doc.error((), "a pack data file must be a mapping of sections"))
            continue
        # Validate item by item, so one bad entry neither hides the others nor cascades into reference errors.
        valid: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for name, value in doc.data.items():
            if name in schemas.OWN_SECTIONS:
                if not isinstance(value, list):
                    errors.append(doc.error((name,), f"section {name!r} must be a list"))
                    continue
                item_schema = schemas.DATA_SCHEMA["properties"][name]["items"]
                for i, entry_ in enumerate(value):
                    errs = _schema_errors(doc, item_schema, (name, i))
                    errors.extend(errs)
                    if not errs:
                        valid.setdefault(name, []).append((i, entry_))
                    elif isinstance(entry_, dict) and isinstance(entry_.get("id"), str):
                        broken.add((name, entry_["id"]))
                continue
            sections.setdefault(str(name), value)
            if name == "enforcement" and ladder is not None:
                for e in ladder(value) or []:
                    line, col = doc.at((name,))
                    errors.append(PackError(doc.file, line, col, f"enforcement: {getattr(e, 'message', e)}"))
        for i, c in valid.get("categories", []):
            if not dup(doc, ("categories", i), "category", c["id"]):
                categories[c["id"]] = (doc, ("categories", i), c)
        for i, r in valid.get("rules", []):
            if not dup(doc, ("rules", i), "rule", r["id"]):
                rules_raw.append((doc, ("rules", i), r))
        for i, lx in valid.get("lexicons", []):
            if dup(doc, ("lexicons", i), "lexicon", lx["id"]):
                continue
            terms: list[tuple[str, float, bool]] = []
            seen_terms: set[str] = set()
            list_fold = bool(lx.get("fold", True))
            for j, t in enumerate(lx["terms"]):
                if isinstance(t, str):
                    text, weight, fold = t, 1.0, list_fold
                else:
                    text, weight, fold = t["text"], float(t.get("weight", 1.0)), bool(t.get("fold", list_fold))
                text = " ".join(text.split())
                if text.casefold() in seen_terms:
                    errors.append(doc.error(("lexicons", i, "terms", j), f"duplicate term {text!r} in {lx['id']}"))
                    continue
                seen_terms.add(text.casefold())
                terms.append((text, weight, fold))
            lexicons[lx["id"]] = LexiconDef(lx["id"], tuple(terms), lx.get("match", "word"), lx.get("fold", True))
        for i, pt in valid.get("patterns", []):
            if dup(doc, ("patterns", i), "pattern", pt["id"]):
                continue
            ppath: Path_ = ("patterns", i, "pattern")
            try:
                regex.compile(pt["pattern"])
            except regex.error as exc:
                errors.append(doc.error(ppath, f"pattern {pt['id']!r} does not compile: {exc}"))
                continue
            if linter is not None:
                errors.extend(
                    doc.error(ppath, f"pattern {pt['id']!r}: {m}") for m in _lint_messages(linter(pt["pattern"]))
                )
            patterns[pt["id"]] = PatternDef(pt["id"], pt["pattern"], pt.get("fold", True), float(pt.get("weight", 1)))

    ctx_raw = meta.get("context", {})
    for cue, lx_id in ctx_raw.get("cues", {}).items():
        if lx_id not in lexicons:
            errors.append(entry.error(("context", "cues", cue), f"unknown lexicon {lx_id!r}"))
    context = ContextPolicy(
        cues=dict(ctx_raw.get("cues", {})),
        window=int(ctx_raw.get("window", 200)),
        quotation=bool(ctx_raw.get("quotation", True)),
        downgrade_at=int(ctx_raw.get("downgrade_at", 1)),
        clear_at=int(ctx_raw.get("clear_at", 3)),
    )
    if context.clear_at < context.downgrade_at:
        errors.append(entry.error(("context", "clear_at"), "clear_at must be at least downgrade_at"))

    cats: dict[str, Category] = {}
    for cid, (doc, path, c) in categories.items():
        eff = c.get("effective", {})
        if eff.get("until") and eff["until"] <= eff["from"]:
            errors.append(doc.error((*path, "effective", "until"), "effective.until must be after effective.from"))
        brackets = {}
        for kind, b in c.get("brackets", {}).items():
            if b["max_vnd"] < b["min_vnd"]:
                errors.append(doc.error((*path, "brackets", kind, "max_vnd"), "max_vnd is below min_vnd"))
            brackets[kind] = Bracket(
                kind, b["min_vnd"], b["max_vnd"], b["basis"], b.get("clause"), b.get("verification")
            )
        citation = dict(c["citation"])
        citation.setdefault("status", meta.get("status_label", meta["status"].replace("_", " ")))
        cats[cid] = Category(
            id=cid,
            name_vi=c["name_vi"],
            name_en=c["name_en"],
            citation=citation,
            severity=int(c["severity"]),
            default_action=c["default_action"],
            remedies=tuple(c.get("remedies") or meta.get("remedies") or ()),
            effective_from=eff.get("from"),
            effective_until=eff.get("until"),
            brackets=brackets,
            description=c.get("description", ""),
        )
        if meta["status"] == "draft" and c["default_action"] != "label":
            errors.append(doc.error((*path, "default_action"), "a draft pack is informational: use action 'label'"))

    rules: list[Rule] = []
    for doc, path, r in rules_raw:
        rule, errs = _build_rule(doc, path, r, cats, lexicons, patterns, broken)
        errors.extend(errs)
        if meta["status"] == "draft" and r.get("action", "label") != "label":
            errors.append(doc.error((*path, "action"), "a draft pack is informational: use action 'label'"))
        if rule is not None:
            rules.append(rule)
    broken_rule_cats = {r.get("category") for _d, _p, r in rules_raw} | {c for (sec, c) in broken if sec == "rules"}
    for cid, (doc, path, _c) in categories.items():
        if not any(r.category == cid for r in rules) and cid not in broken_rule_cats:
            errors.append(doc.error((*path, "id"), f"category {cid!r} has no rule"))

    if errors:
        return None, errors
    eff = meta["effective"]
    return (
        Pack(
            id=pack_id,
            version=hash_pack(pack_dir),
            name_vi=meta["name"]["vi"],
            name_en=meta["name"]["en"],
            version_label=meta["version_label"],
            jurisdiction=meta["jurisdiction"],
            status=meta["status"],
            status_label=meta.get("status_label", meta["status"].replace("_", " ")),
            effective_from=eff["from"],
            effective_until=eff.get("until"),
            mode=meta.get("mode", "enforce"),
            path=pack_dir,
            files=tuple(p.relative_to(pack_dir).as_posix() for p in pack_files(pack_dir)),
            categories=cats,
            rules=tuple(rules),
            lexicons=lexicons,
            patterns=patterns,
            context=context,
            instrument=dict(meta.get("instrument", {})),
            additional_penalties=tuple(meta.get("additional_penalties", ())),
            remedies=tuple(meta.get("remedies", ())),
            sections=sections,
        ),
        [],
    )


def _build_rule(  # noqa: PLR0917 - an internal helper fed from one call site
    doc: MarkedDoc,
    path: Path_,
    r: Mapping[str, Any],
    cats: Mapping[str, Category],
    lexicons: Mapping[str, LexiconDef],
    patterns: Mapping[str, PatternDef],
    broken: set[tuple[str, str]],
) -> tuple[Rule | None, list[PackError]]:
    errors: list[PackError] = []
    if r["category"] not in cats and ("categories", r["category"]) not in broken:
        errors.append(doc.error((*path, "category"), f"unknown category {r['category']!r}"))
    if not r.get("when_all") and not r.get("when_any"):
        errors.append(doc.error((*path, "id"), f"rule {r['id']!r} needs when_all or when_any"))
    if r.get("min_any", 1) > len(r.get("when_any", [])) and r.get("when_any"):
        errors.append(doc.error((*path, "min_any"), "min_any is larger than the number of when_any conditions"))
    groups: dict[str, tuple[Condition, ...]] = {}
    for group in ("when_all", "when_any", "unless"):
        conds: list[Condition] = []
        for i, raw in enumerate(r.get(group, [])):
            cpath: Path_ = (*path, group, i)
            if len(raw) != 1:
                errors.append(doc.error(cpath, "a condition is a mapping with exactly one function name"))
                continue
            ((fn, args),) = raw.items()
            fn = str(fn)
            spec = FUNCTIONS.get(fn)
            if spec is None:
                known = ", ".join(sorted(FUNCTIONS))
                errors.append(doc.error((*cpath, fn), f"unknown detector function {fn!r} (known: {known})", key=True))
                continue
            args = {} if args is None else args
            if not isinstance(args, dict):
                errors.append(doc.error((*cpath, fn), f"arguments of {fn} must be a mapping"))
                continue
            errs = _schema_errors(doc, spec.args_schema, (*cpath, fn))
            if errs:
                errors.extend(PackError(e.file, e.line, e.column, f"{fn}: {e.message}") for e in errs)
                continue
            for arg, ref_kind in spec.refs.items():
                ref = args.get(arg)
                table: Mapping[str, Any] = lexicons if ref_kind == "lexicon" else patterns
                section = "lexicons" if ref_kind == "lexicon" else "patterns"
                if ref is not None and ref not in table and (section, ref) not in broken:
                    errors.append(doc.error((*cpath, fn, arg), f"unknown {ref_kind} {ref!r}"))
            line, col = doc.at(cpath)
            conds.append(Condition(fn, dict(args), f"{doc.file}:{line}:{col}"))
        groups[group] = tuple(conds)
    if errors:
        return None, errors
    line, col = doc.at((*path, "id"))
    return (
        Rule(
            id=r["id"],
            category=r["category"],
            action=r.get("action"),
            mode=r.get("mode"),
            when_all=groups["when_all"],
            when_any=groups["when_any"],
            unless=groups["unless"],
            min_any=int(r.get("min_any", 1)),
            context=r.get("context", "downgrade"),
            description=r.get("description", ""),
            where=f"{doc.file}:{line}:{col}",
        ),
        [],
    )


# ---------------------------------------------------------------------------------------------------------------
# Pack sets


def pack_dirs(root: Path) -> list[Path]:
    """Return the pack folders under ``root`` (``root`` itself when it is a pack); folders without an entry file
    (e.g. ``policies/registries``) are skipped."""
    if (root / ENTRY_FILE).is_file():
        return [root]
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / ENTRY_FILE).is_file())


def validate_dir(root: Path) -> list[PackError]:
    """Validate every pack under ``root`` (or ``root`` as one pack); return all errors, sorted."""
    errors: list[PackError] = []
    dirs = pack_dirs(root)
    if not dirs:
        return [PackError(root.as_posix(), 1, 1, f"no policy pack ({ENTRY_FILE}) found")]
    display = root.parent if (root / ENTRY_FILE).is_file() else root
    ids: dict[str, Path] = {}
    for d in dirs:
        pack, errs = load_pack(d, display)
        errors.extend(errs)
        if pack is not None:
            if pack.id in ids:
                errors.append(PackError(_display(display, d / ENTRY_FILE), 1, 1, f"duplicate pack id {pack.id!r}"))
            ids[pack.id] = d
    return sorted(errors)


class PackSet:
    """The packs in force for the service, immutable; ``versions`` maps pack id to its SHA-256."""

    def __init__(self, packs: Sequence[Pack], root: Path | None = None) -> None:
        self.packs: tuple[Pack, ...] = tuple(sorted(packs, key=lambda p: p.id))
        self.root = root
        self.versions: dict[str, str] = {p.id: p.version for p in self.packs}
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __iter__(self) -> Iterator[Pack]:
        return iter(self.packs)

    def __len__(self) -> int:
        return len(self.packs)

    def get(self, pack_id: str) -> Pack | None:
        return next((p for p in self.packs if p.id == pack_id), None)

    @property
    def hash(self) -> str:
        """One digest for the whole set (the pairs id=version, sorted)."""
        return hashlib.sha256("\n".join(f"{k}={v}" for k, v in sorted(self.versions.items())).encode()).hexdigest()

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """Return the value built once for this set (compiled lexicons), thread-safely."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]


def load_packs(root: Path) -> PackSet:
    """Load every pack under ``root``; raise :class:`PackValidationError` listing all errors if any is invalid."""
    errors = validate_dir(root) if not pack_dirs(root) else []
    if errors:
        raise PackValidationError(errors)
    display = root.parent if (root / ENTRY_FILE).is_file() else root
    packs: list[Pack] = []
    for d in pack_dirs(root):
        pack, errs = load_pack(d, display)
        errors.extend(errs)
        if pack is not None:
            packs.append(pack)
    if len({p.id for p in packs}) != len(packs):
        errors.append(PackError(root.as_posix(), 1, 1, "duplicate pack ids"))
    if errors:
        raise PackValidationError(errors)
    return PackSet(packs, root)


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    out = []
    for d in pack_dirs(root):
        for p in pack_files(d):
            st = p.stat()
            out.append((p.as_posix(), st.st_mtime_ns, st.st_size))
    return tuple(out)


class PackWatcher:
    """Serve the current :class:`PackSet`, reloading only when the packs' files change (hot reload).

    The cheap check compares file names, mtimes and sizes (at most every ``min_interval_s``); only when they differ
    are the packs hashed, and only when a hash differs are they reloaded. A pack that no longer validates is logged
    and the previous set stays in force, so a bad edit cannot take the service down.
    """

    def __init__(self, root: Path, min_interval_s: float = 1.0) -> None:
        self.root = root
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._checked = 0.0
        self._signature = _signature(root)
        self._packs = load_packs(root)
        self.last_error: PackValidationError | None = None
        self.reloads = 0

    def current(self) -> PackSet:
        now = time.monotonic()
        if now - self._checked < self.min_interval_s:
            return self._packs
        with self._lock:
            if now - self._checked < self.min_interval_s:
                return self._packs
            self._checked = now
            sig = _signature(self.root)
            if sig == self._signature:
                return self._packs
            self._signature = sig
            hashes = {d.name: hash_pack(d) for d in pack_dirs(self.root)}
            if hashes == {p.path.name: p.version for p in self._packs}:
                return self._packs
            try:
                self._packs = load_packs(self.root)
                self.last_error = None
                self.reloads += 1
                log.info("policy packs reloaded: %s", self._packs.versions)
            except PackValidationError as exc:
                self.last_error = exc
                log.error("policy packs under %s do not validate; keeping the previous version:\n%s", self.root, exc)
            return self._packs
