"""Hot reload: a pack edited on disk is used by the next decision, in the web app and the worker, without a restart;
decisions made earlier keep the version they were made under."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from flask import Flask

from moderation.config import Settings
from moderation.policy import hash_pack, load_packs
from moderation.web.app import create_app
from moderation.web.runtime import RecordingQueue
from tests.conftest import SignedClient, make_platform, make_settings, post_payload
from workers.tasks import run_classify

POLICIES = Path(__file__).resolve().parents[2] / "policies"
PACK = "vn-circular-07-2008"
TEXT = "Quán mình hôm nay bán bánh tráng trộn siêu cay, mời cả nhà ghé thử."
WATCH_INTERVAL_S = 1.0  # PackWatcher's default: how often the files' mtimes are looked at


def test_edited_pack_is_used_without_restart(settings: Settings, tmp_path: Path) -> None:
    root = tmp_path / "policies"
    shutil.copytree(POLICIES, root)
    hot = make_settings(settings.database_url, tmp_path, policies_dir=root)
    app: Flask = create_app(hot, queue=RecordingQueue())
    app.testing = True
    api = SignedClient(app.test_client(), make_platform(hot))
    rt: Any = app.extensions["moderation"]
    old_hash = hash_pack(root / PACK)

    first = api.post("/v1/posts?sync=1", post_payload(id="before", body=TEXT)).get_json()
    assert first["decision"]["verdict"] == "allow"
    assert first["decision"]["pack_versions"][PACK] == old_hash

    category = next(iter(load_packs(root).get(PACK).categories))  # type: ignore[union-attr]
    (root / PACK / "zz-hot-reload.yaml").write_text(
        "lexicons:\n  - id: hot_reload_terms\n    terms: [bánh tráng trộn siêu cay]\n"
        f"rules:\n  - id: hot_reload.rule\n    category: {category}\n"
        "    when_all:\n      - lexicon: {list: hot_reload_terms}\n    action: review\n",
        encoding="utf-8",
    )
    new_hash = hash_pack(root / PACK)
    assert new_hash != old_hash
    time.sleep(WATCH_INTERVAL_S + 0.1)  # let the watcher look again (not a speed check)

    # The worker's path (the Celery task body, in process) ...
    sub_id = api.post("/v1/posts", post_payload(id="worker", body=TEXT)).get_json()["submission_id"]
    assert run_classify(rt, sub_id)
    worker = api.get(f"/v1/submissions/{sub_id}").get_json()["decision"]
    # ... and the web app's inline path both use the edited pack.
    web = api.post("/v1/posts?sync=1", post_payload(id="web", body=TEXT)).get_json()["decision"]
    for decision in (worker, web):
        assert decision["verdict"] == "review"
        assert decision["pack_versions"][PACK] == new_hash
        (cat,) = [c for c in decision["categories"] if c["rule"] == "hot_reload.rule"]
        assert (cat["id"], cat["pack_version"]) == (category, new_hash)
        assert [TEXT[s["start"] : s["end"]] for s in cat["evidence"]] == ["bánh tráng trộn siêu cay"]

    # The earlier decision is unchanged and still names the version it was made under.
    earlier = api.get(f"/v1/submissions/{first['submission_id']}").get_json()["decision"]
    assert (earlier["id"], earlier["verdict"]) == (first["decision"]["id"], "allow")
    assert earlier["pack_versions"][PACK] == old_hash

    # A broken edit keeps the last good version in force.
    (root / PACK / "zz-hot-reload.yaml").write_text("rules: [\n", encoding="utf-8")
    time.sleep(WATCH_INTERVAL_S + 0.1)
    kept = api.post("/v1/posts?sync=1", post_payload(id="after-bad-edit", body=TEXT)).get_json()["decision"]
    assert kept["pack_versions"][PACK] == new_hash
    assert kept["verdict"] == "review"
