"""End to end, offline, on the fake cluster with real log semantics and recent, skewed timestamps.

The demo's panic names the issue whatever the node clocks say; an infra world opens its issue but engages
no agent, on the first issue and through ``/fixloop assign``; a code world is handed over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp

from app.analysis.evidence import ContainerState, Evidence, PodEvidence, Side
from app.analysis.verdict import Classification, Verdict
from app.loop.incident.repo_config import AgentName, RepoConfig
from app.loop.incident.stages import Stage
from app.loop.incident.state import IncidentState
from app.loop.steps.handoff import hand_off
from tests.commands.helpers import demo_state, seed
from tests.diagnosis.worlds import WORLDS, seed_world
from tests.fakes.kube_demo import cloned_notification, demo_notification, load_recent_demo
from tests.harness import AppHarness

REPO = "acme/rollouts-demo"
BEHIND = {  # every node's clock behind the API server's, by more than the pods' age at their crash
    "kind-worker": timedelta(minutes=-5),
    "kind-worker2": timedelta(minutes=-3),
    "kind-worker3": timedelta(minutes=-2),
}
CLAUDE = "agent: claude\n"


def _world(name: str) -> object:
    return next(world for world in WORLDS if world.name == name)


async def test_the_recent_skewed_demo_issue_names_the_panic(app_harness: AppHarness) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    load_recent_demo(app_harness.kube, aborted_ago=timedelta(minutes=3), node_skew=BEHIND)
    assert (await app_harness.notify(demo_notification())).status == 202
    await app_harness.drain()
    (issue,) = app_harness.github.issues(REPO)
    assert "index out of range" in issue.title, issue.title
    assert issue.body is not None and "istio-init" not in issue.body.split("### Crashes")[1].split("###")[0]
    samples = issue.body.split("### Log samples (redacted)")[1].split("## Task")[0]
    assert "index out of range" in samples and "istio-proxy" not in samples  # no sidecar access log
    assert samples.count("<details>") == 3 and "around the signatures" in samples  # one per canary pod
    assert samples.count("GET /color") <= 3 * 3  # context, not the whole log
    summary = issue.body.split("## Summary")[1].split("**Root cause**")
    assert summary[0].strip() not in summary[1]  # the summary does not repeat the root cause


async def test_the_old_window_would_have_lost_the_panic(app_harness: AppHarness) -> None:
    """What the collector used to ask (sinceTime = the pod's creation) finds nothing on a node behind."""
    kube = app_harness.kube
    assert kube is not None
    load_recent_demo(kube, aborted_ago=timedelta(minutes=3), node_skew=BEHIND)
    pod = kube.get("Pod", "demo", "rollouts-demo-7b6cd8d9f4-9dk2x")
    query = {"container": "rollouts-demo", "previous": "true", "timestamps": "true"}
    path = f"{kube.url}/api/v1/namespaces/demo/pods/{pod['metadata']['name']}/log"
    headers = {"Authorization": f"Bearer {kube.token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.get(path, params=query) as response:
            whole = await response.text()
        since = {**query, "sinceTime": pod["metadata"]["creationTimestamp"]}
        async with http.get(path, params=since) as response:
            cut = await response.text()
    assert "index out of range" in whole and cut == ""
    stamp = whole.split(" ", 1)[0]
    assert datetime.fromisoformat(stamp[:26] + "+00:00") > datetime.now(UTC) - timedelta(minutes=15)


async def _fail(app_harness: AppHarness, name: str) -> None:
    assert app_harness.github is not None and app_harness.kube is not None
    app_harness.github.add_installation("acme", ["rollouts-demo"])
    app_harness.github.put_file(REPO, ".github/fixloop.yml", CLAUDE)
    world = _world(name)
    seed_world(app_harness.kube, world)  # type: ignore[arg-type]
    notification = cloned_notification(world.namespace)  # type: ignore[attr-defined]
    assert (await app_harness.notify(notification)).status == 202
    await app_harness.drain()


async def test_an_infra_world_gets_no_agent_on_its_first_issue(app_harness: AppHarness) -> None:
    await _fail(app_harness, "image-pull")
    assert app_harness.github is not None
    (issue,) = app_harness.github.issues(REPO)
    assert "ImagePullBackOff" in issue.title
    comments = [c.body for c in app_harness.github.comments(REPO, issue.number)]
    assert not any("@claude" in body for body in comments), comments
    assert {"needs-human", "infra"} <= set(issue.labels)
    assert any("classified `infra`" in body and "no coding agent" in body for body in comments)
    status = next(body for body in comments if "fixloop:status" in body)
    assert "on the cluster side" in status and "`/fixloop assign <agent>`" not in status  # no dead end
    (incident,) = await app_harness.services.store.list_incidents()
    assert incident.stage == Stage.NEEDS_HUMAN.value


async def test_a_code_world_is_handed_to_the_agent(app_harness: AppHarness) -> None:
    await _fail(app_harness, "python-keyerror")
    assert app_harness.github is not None
    (issue,) = app_harness.github.issues(REPO)
    assert "KeyError" in issue.title and "infra" not in issue.labels
    comments = [c.body for c in app_harness.github.comments(REPO, issue.number)]
    assert any(body.startswith("@claude") for body in comments)


def _image_pull_evidence() -> Evidence:
    waiting = ContainerState(
        "rollouts-demo", "argoproj/rollouts-demo:bad-red", False, 0, False, "waiting", "ImagePullBackOff"
    )
    pod = PodEvidence(
        "rollouts-demo-7b6cd8d9f4-9dk2x", Side.CANARY, "Pending", "7b6cd8d9f4", "", "", (waiting,)
    )
    return Evidence("demo", "rollouts-demo", "7b6cd8d9f4", "687d76d795", pods=[pod], aborted=True)


async def test_assign_refuses_an_agent_for_infra_even_when_the_llm_said_code(app_harness: AppHarness) -> None:
    code = Verdict("A bug", "It is broken.", "Bad code.", classification=Classification.CODE, source="llm:x")
    s = await seed(
        app_harness, state=demo_state(evidence=_image_pull_evidence().to_dict(), verdict=code.to_dict())
    )
    _, payload = s.comment("/fixloop assign claude")
    await s.post(payload)
    replies = [c.body for c in s.replies()]
    assert not any(body.startswith("@claude") for body in replies), replies
    assert any("not handed to claude" in body and "ImagePullBackOff" in body for body in replies)
    assert (await s.current()).stage == Stage.ISSUE_OPEN.value
    _, payload = s.comment("/fixloop assign @alice")  # a person may take it
    await s.post(payload)
    assert any("assigned the issue to `alice`" in c.body for c in s.replies())


async def test_every_hand_off_path_is_gated_in_hand_off_itself(app_harness: AppHarness) -> None:
    """A recurrence (attempt N+1) and a resumed hand-off call hand_off as the first issue does: an infra
    incident with a coding agent configured ends at needs_human, nothing posted to the agent."""
    infra = Verdict("No image", "Pull fails.", "ImagePullBackOff.", classification=Classification.INFRA)
    state = demo_state(evidence=_image_pull_evidence().to_dict(), verdict=infra.to_dict())
    s = await seed(app_harness, state=state)
    gh = app_harness.services.github.installation_client(s.installation_id)
    for agent in (AgentName.CLAUDE, AgentName.COPILOT, AgentName.CODEX):
        incident = await hand_off(
            app_harness.services, gh, await s.current(), RepoConfig(agent=agent), view=None
        )
        assert incident.stage == Stage.NEEDS_HUMAN.value
        assert IncidentState.of(incident).handoff.outcome == "infra"
    comments = [c.body for c in s.github.comments(REPO, s.issue.number)]
    assert not any(body.startswith(("@claude", "@codex")) for body in comments)
    assert s.github.issue(REPO, s.issue.number).assignees == []
    assert {"needs-human", "infra"} <= set(s.github.issue(REPO, s.issue.number).labels)
    status = next(body for body in comments if "fixloop:status" in body)
    assert "classified `infra` (ImagePullBackOff)" in status
