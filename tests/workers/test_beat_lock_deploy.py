"""The deployment files (deploy/) parse, run commands the CLI has, consume queues Celery routes to, and run beat only
with its single-instance lock. No Docker or cluster needed: this reads the files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from moderation.cli import main
from tests.conftest import REPO
from workers.celery_app import QUEUES

DEPLOY = REPO / "deploy"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return doc


def _k8s_commands() -> list[tuple[str, list[str]]]:
    out = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for doc in _docs(path):
            spec = doc.get("spec", {})
            pod = spec.get("template", {}).get("spec", {})
            for container in pod.get("containers", []):
                out.append((f"{path.name}:{doc['metadata']['name']}", container.get("command", [])))
    return out


def _compose_commands() -> list[tuple[str, list[str]]]:
    return [(name, svc.get("command", [])) for name, svc in _compose()["services"].items()]


ALL_COMMANDS = [c for c in _compose_commands() + _k8s_commands() if c[1] and c[1][0] == "moderation"]


@pytest.mark.parametrize(("where", "argv"), ALL_COMMANDS, ids=[w for w, _ in ALL_COMMANDS])
def test_every_command_exists_and_accepts_its_options(where: str, argv: list[str]) -> None:
    # `--help` after the arguments: click parses every option (an unknown one fails) and runs nothing.
    result = CliRunner().invoke(main, [*argv[1:], "--help"])
    assert result.exit_code == 0, f"{where}: {argv}\n{result.output}"


def _queues_of(argv: list[str]) -> list[str]:
    for flag in ("-Q", "--queues"):
        if flag in argv:
            return argv[argv.index(flag) + 1].split(",")
    return []


@pytest.mark.parametrize("source", ["compose", "k8s"])
def test_every_queue_has_its_own_workers(source: str) -> None:
    commands = _compose_commands() if source == "compose" else _k8s_commands()
    workers = [argv for _, argv in commands if argv[:2] == ["moderation", "worker"]]
    consumed = [q for argv in workers for q in _queues_of(argv)]
    assert sorted(consumed) == sorted(QUEUES), "one worker service per queue, every queue consumed"


def test_k8s_scales_each_worker_on_its_queue_and_protects_it_with_a_budget() -> None:
    docs = [d for p in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in _docs(p)]
    kinds: dict[str, set[str]] = {}
    for d in docs:
        kinds.setdefault(d["kind"], set()).add(d["metadata"]["name"])
    scaled = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    for queue in QUEUES:
        name = f"worker-{queue}"
        assert name in kinds["Deployment"]
        assert name in kinds["PodDisruptionBudget"]
        trigger = scaled[name]["spec"]["triggers"][0]
        assert trigger["type"] == "redis"
        assert trigger["metadata"]["listName"] == queue
    for name in ("intake", "console", "beat"):
        assert name in kinds["PodDisruptionBudget"]
    assert {"intake", "console"} <= kinds["HorizontalPodAutoscaler"]
    assert {"Namespace", "ConfigMap", "Secret", "Job", "Service", "StatefulSet"} <= set(kinds)
    for d in docs:
        for container in d.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            probe = container.get("readinessProbe", {}).get("httpGet", {})
            assert probe.get("path") != "/readyz", "a shared dependency down must not unready every pod"
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert all(not v for s in secrets for v in s["stringData"].values()), "no secret values committed"


def test_beat_runs_only_through_moderation_beat() -> None:
    # `moderation beat` always uses the single-instance lock (tests/workers/test_beat_lock.py); a bare `celery beat`
    # would not.
    texts = [p.read_text() for p in DEPLOY.rglob("*") if p.is_file()]
    assert not any("celery beat" in t or "celery -A workers.worker beat" in t for t in texts)
    assert ["moderation", "beat", "--loglevel", "INFO"] in [argv for _, argv in _compose_commands()]


def test_compose_runs_migrations_first_and_prometheus_scrapes_metrics() -> None:
    services = _compose()["services"]
    assert services["migrate"]["command"] == ["moderation", "db", "upgrade"]
    for name in ("intake", "console", "worker-classify", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("postgres", "redis", "flower", "prometheus"):
        assert name in services
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prometheus["scrape_configs"]}
    assert jobs["moderation-web"]["metrics_path"] == "/metrics"
    targets = {t for c in jobs["moderation-web"]["static_configs"] for t in c["targets"]}
    assert {"intake:8000", "console:8000"} == targets
    yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())


def test_systemd_units_start_moderation_commands() -> None:
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} == {
        "moderation-web.service",
        "moderation-worker@.service",
        "moderation-beat.service",
    }
    for unit in units:
        lines = [ln for ln in unit.read_text().splitlines() if ln.startswith(("ExecStart=", "ExecStartPre="))]
        assert lines
        for line in lines:
            argv = line.split("=", 1)[1].replace("%i", "classify").replace("$WORKER_ARGS", "").split()
            assert argv[0] == "/opt/moderation/venv/bin/moderation"
            result = CliRunner().invoke(main, [*argv[1:], "--help"])
            assert result.exit_code == 0, f"{unit.name}: {line}\n{result.output}"
        assert "Restart=always" in unit.read_text()
