"""The committed offensive models are what ``moderation train offensive`` builds from today's code: what training
reads of ViHOS after normalisation and tokenisation (its digest, recorded in each model's meta when it was trained)
is what the current normaliser and tokeniser produce. A change to either that moves it means the models must be
retrained and committed, as on 2026-12-06, when the split-word joins had left the default model unbuildable."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from moderation.detect.offensive import MODEL_DIR
from moderation.detect.offensive_train import (
    DEFAULT_BADWORDS,
    DEFAULT_DATA,
    _cpu_flags,
    blas_kernels_for,
    training_input_digest,
)

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


@pytest.mark.parametrize(
    ("machine", "flags", "kernels"),
    [
        ("x86_64", ["fpu", "avx", "avx2", "fma", "avx512f"], "Haswell"),  # Intel with AVX-512: pinned down
        ("x86_64", ["avx", "avx2", "fma"], "Haswell"),  # AMD Zen, Intel Haswell and later
        ("AMD64", ["avx2", "fma"], "Haswell"),  # as Windows names it
        ("x86_64", ["sse4_2", "avx"], None),  # too old for those kernels: OpenBLAS's own choice
        ("x86_64", [], None),  # flags unreadable
        ("aarch64", ["avx2", "fma"], None),  # another architecture
    ],
)
def test_training_pins_the_blas_kernels_where_the_processor_runs_them(
    machine: str, flags: list[str], kernels: str | None
) -> None:
    assert blas_kernels_for(machine, flags) == kernels


@pytest.mark.slow
@pytest.mark.shared_data
def test_the_training_command_rebuilds_the_shipped_default_model(tmp_path: Path) -> None:
    """Byte for byte, on any x86-64 processor with AVX2: an AVX-512 one built another model.npz until training
    pinned OpenBLAS's kernels (liblinear's solver stopped at other weights), and one BLAS thread another until it
    pinned the threads (CI, 2026-12-07: a test before it had set ``OPENBLAS_NUM_THREADS=1`` in the test process, by
    running a classifying command). A process of its own, so that its OpenBLAS is loaded after the pin."""
    if not (DEFAULT_DATA / "train.csv").exists() or not DEFAULT_BADWORDS.exists():
        pytest.skip("../shared is absent")
    if blas_kernels_for(platform.machine(), _cpu_flags()) is None:
        pytest.skip("OpenBLAS's kernels are not pinned on this processor: its bytes may differ")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    env["OPENBLAS_NUM_THREADS"] = "1"  # as many containers and every other command set it: training sets its own
    cmd = [sys.executable, "-m", "moderation.cli", "train", "offensive", "--data", str(DEFAULT_DATA)]
    subprocess.run([*cmd, "--out", str(tmp_path)], check=True, capture_output=True, env=env, timeout=540)
    built = hashlib.sha256((tmp_path / "model.npz").read_bytes()).hexdigest()
    assert built == hashlib.sha256((Path(MODEL_DIR) / "model.npz").read_bytes()).hexdigest()
    trained_with = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))["trained_with"]
    assert trained_with["blas_kernels"] == "Haswell"
    assert trained_with["blas_threads"] == 2
