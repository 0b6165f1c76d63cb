"""The committed offensive models are what ``moderation train offensive`` builds from today's code: what training
reads of ViHOS after normalisation and tokenisation (its digest, recorded in each model's meta when it was trained)
is what the current normaliser and tokeniser produce. A change to either that moves it means the models must be
retrained and committed, as on 2026-12-06, when the split-word joins had left the default model unbuildable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moderation.detect.offensive import MODEL_DIR
from moderation.detect.offensive_train import DEFAULT_BADWORDS, DEFAULT_DATA, training_input_digest

FORMAL = MODEL_DIR.parent / "offensive-formal"


@pytest.mark.shared_data
def test_both_models_were_trained_on_what_the_current_code_reads() -> None:
    if not (DEFAULT_DATA / "train.csv").exists() or not DEFAULT_BADWORDS.exists():
        pytest.skip("../shared is absent")
    digest = training_input_digest(DEFAULT_DATA, DEFAULT_BADWORDS)
    for model_dir in (MODEL_DIR, FORMAL):
        meta = json.loads((Path(model_dir) / "model.json").read_text(encoding="utf-8"))
        assert meta["vihos_input_sha256"] == digest, (
            f"{model_dir.name}: the normaliser or the tokeniser now reads ViHOS differently from when the model was "
            "trained; retrain it (`moderation train offensive`, `make train-offensive`) and commit the artefacts"
        )
