"""``moderation train`` and ``moderation evaluate``: build and measure the shipped models."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click

from moderation.detect.offensive import MODEL_DIR

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VIHOS = REPO_ROOT.parent / "shared" / "data" / "vihos"
DEFAULT_CORPUS = REPO_ROOT / ".cache" / "clean-corpus"


@click.group()
def train() -> None:
    """Train the models the detectors ship with (needs the dev dependencies)."""


@train.command("offensive")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_VIHOS,
    show_default=True,
    help="ViHOS folder with train.csv, dev.csv, test.csv.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=MODEL_DIR,
    show_default=True,
    help="Where to write model.npz and model.json.",
)
@click.option(
    "--clean-corpus",
    "corpus_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also train on clean Vietnamese text of other registers: the pinned wheels of "
    "moderation/detect/clean_corpus.py in this folder (downloaded with pip when missing; `make train-corpus` "
    f"uses {DEFAULT_CORPUS.relative_to(REPO_ROOT)}). Without it, ViHOS alone (the shipped model).",
)
def train_offensive(data_dir: Path, out_dir: Path, corpus_dir: Path | None) -> None:
    """Train the offensive-language model on ViHOS train (plus, with --clean-corpus, clean text of other
    registers), choosing C and thresholds on ViHOS dev."""
    if not (data_dir / "train.csv").exists():
        raise click.ClickException(f"no ViHOS data in {data_dir} (expected train.csv, dev.csv)")
    try:
        from moderation.detect import clean_corpus
        from moderation.detect.lexicon import Lexicon, Term
        from moderation.detect.offensive_train import clean_training_texts, derive_lexicon, load_split
        from moderation.detect.offensive_train import train as run_training
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise click.ClickException(f"training needs the dev dependencies (scikit-learn): {exc}") from exc
    clean: list[str] = []
    held_out: list[str] = []
    sources: list[dict[str, str]] = []
    if corpus_dir is not None:
        try:
            clean_corpus.fetch(corpus_dir)
            words, sentences = clean_corpus.read(corpus_dir)
        except (clean_corpus.CorpusError, OSError, subprocess.CalledProcessError) as exc:
            raise click.ClickException(f"clean corpus: {exc}") from exc
        terms = derive_lexicon()
        lexicon = Lexicon.compile(Term(t, t) for t in terms) if terms else None
        clean, held_out, counts = clean_training_texts(words, sentences, load_split(data_dir, "train"), lexicon)
        sources = [s.describe() for s in clean_corpus.SOURCES]
        click.echo(f"clean corpus: {json.dumps(counts)}")
    meta = run_training(data_dir, out_dir, clean=clean, clean_held_out=held_out, clean_sources=sources, log=click.echo)
    click.echo(json.dumps({k: v for k, v in meta.items() if k != "lexicon"}, ensure_ascii=False, indent=1))


@click.group()
def evaluate() -> None:
    """Measure the shipped models on held-out data."""


@evaluate.command("offensive")
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_VIHOS,
    show_default=True,
    help="ViHOS folder with test.csv (and dev.csv).",
)
@click.option("--model", "model_dir", type=click.Path(file_okay=False, path_type=Path), default=MODEL_DIR)
@click.option("--split", default="test", show_default=True, help="Which split to score.")
@click.option(
    "--clean",
    "clean_files",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A UTF-8 text file known to hold no offensive language (repeatable): report how many of its sentences "
    "the model flags.",
)
@click.option(
    "--obfuscate",
    "obfuscations",
    multiple=True,
    type=click.Choice(["spaced", "dotted", "split"]),
    help="Also score SPLIT with every offensive span written as evaders write it: letter by letter ('c h ó đ ẻ', "
    "'c.h.ó.đ.ẻ') or each word cut by a dot ('ch.ó đ.ẻ') (repeatable).",
)
def evaluate_offensive(
    data_dir: Path, model_dir: Path, split: str, clean_files: tuple[Path, ...], obfuscations: tuple[str, ...]
) -> None:
    """Print binary and span F1 on SPLIT, as written and with every diacritic stripped; with --obfuscate, with
    the offensive spans written letter by letter; with --clean, the share of sentences flagged in text known to
    be clean (a false-positive rate outside ViHOS's register)."""
    from moderation.detect.offensive import OffensiveModel
    from moderation.detect.offensive_train import (
        clean_sentences,
        clean_text_report,
        load_split,
        obfuscate,
        strip_diacritics,
    )
    from moderation.detect.offensive_train import evaluate as run_eval

    if not (data_dir / f"{split}.csv").exists():
        raise click.ClickException(f"no {split}.csv in {data_dir}")
    model = OffensiveModel.load(model_dir)
    examples = load_split(data_dir, split)
    accented = run_eval(model, examples)
    stripped = run_eval(model, [strip_diacritics(e) for e in examples])
    report = {
        "split": split,
        "model": model.meta.get("name"),
        "trained_at": model.meta.get("trained_at"),
        "threshold": model.threshold,
        "accented": accented,
        "diacritics_stripped": stripped,
        "binary_f1_loss_when_stripped": round(accented["binary"]["f1"] - stripped["binary"]["f1"], 4),
    }
    for how in obfuscations:
        seen = run_eval(model, [obfuscate(e, how) for e in examples])
        report[f"obfuscated_{how}"] = seen
        report[f"binary_recall_loss_when_{how}"] = round(accented["binary"]["recall"] - seen["binary"]["recall"], 4)
    if clean_files:
        sentences = [s for path in clean_files for s in clean_sentences(path.read_text(encoding="utf-8"))]
        report["clean_text"] = {"files": [str(p) for p in clean_files]} | clean_text_report(model, sentences)
    click.echo(json.dumps(report, ensure_ascii=False, indent=1))
