"""`python -m app analyze` on the bundled demo: the revisions and the top frame's link, GitHub not asked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.kube_demo import DEMO_CANARY_SHA, DEMO_STABLE_SHA

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_shows_both_revisions_and_links_the_panicking_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GITHUB_", "FIXLOOP_"))}
    env |= {"PYTHONPATH": str(ROOT), "KUBECONFIG": "/nonexistent", "FIXLOOP_LOG_LEVEL": "ERROR"}
    done = subprocess.run(
        [sys.executable, "-m", "app", "analyze"],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    body = done.stdout
    assert f"canary `{DEMO_CANARY_SHA[:12]}` (annotation fixloop.dev/revision of ReplicaSet" in body
    assert f"stable `{DEMO_STABLE_SHA[:12]}`" in body
    assert f"https://github.com/acme/rollouts-demo/blob/{DEMO_CANARY_SHA}/main.go#L214" in body
    assert "GitHub was not asked" in body
