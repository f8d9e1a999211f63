"""The examples (k8s/examples/): a sample canary Rollout and the Fixloop gate AnalysisTemplate, valid against
the Argo Rollouts CRD schemas and wired to the app's routes."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from app.loop.gate import GATE_TIMEOUT
from tests.fakes import crd
from tests.k8s.manifests import K8S, docs, in_cluster_url, one, url_path
from tests.k8s.test_manifests import routes

SUCCESS = "result.promote && result.confidence >= 70"
FAILURE = "!result.promote && result.confidence >= 70"


def rollout() -> dict[str, Any]:
    return one("examples/rollout.yaml", "Rollout")


def templates() -> dict[str, dict[str, Any]]:
    found = [
        doc
        for path in sorted((K8S / "examples").glob("analysistemplate-*.yaml"))
        for doc in docs(f"examples/{path.name}")
    ]
    assert all(doc["kind"] == "AnalysisTemplate" for doc in found)
    return {doc["metadata"]["name"]: doc for doc in found}


def gate() -> dict[str, Any]:
    return templates()["fixloop-gate"]


def gate_metric() -> dict[str, Any]:
    (found,) = gate()["spec"]["metrics"]
    metric: dict[str, Any] = found
    return metric


def test_sample_rollout_validates_against_the_crd() -> None:
    crd.validate_rollout(rollout())


def test_sample_rollout_carries_the_fixloop_annotations() -> None:
    annotations = rollout()["metadata"]["annotations"]
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", annotations["fixloop.dev/repo"])
    assert annotations["fixloop.dev/agent"] and annotations["fixloop.dev/base-branch"]
    assert "{sha}" in annotations["fixloop.dev/image"]


def test_canary_steps_reach_the_gate_with_the_rollouts_own_names() -> None:
    canary = rollout()["spec"]["strategy"]["canary"]
    kinds = [next(iter(step)) for step in canary["steps"]]
    assert {"setWeight", "pause", "analysis"} <= set(kinds)
    assert kinds.index("setWeight") < kinds.index("analysis")
    available = templates()
    steps = [step["analysis"] for step in canary["steps"] if "analysis" in step]
    used = {ref["templateName"] for step in steps for ref in step["templates"]}
    assert "fixloop-gate" in used and used <= set(available)
    for step in steps:
        (ref,) = step["templates"]
        declared = available[ref["templateName"]]["spec"]["args"]
        required = {a["name"] for a in declared if "value" not in a and "valueFrom" not in a}
        assert required == {a["name"] for a in step.get("args", [])}, ref  # every required arg passed
    (gate_step,) = [s for s in steps if s["templates"] == [{"templateName": "fixloop-gate"}]]
    passed = {a["name"]: a["valueFrom"]["fieldRef"]["fieldPath"] for a in gate_step["args"]}
    assert passed == {"namespace": "metadata.namespace", "rollout": "metadata.name"}


@pytest.mark.parametrize("name", ["fixloop-gate", "success-rate"])
def test_analysis_templates_validate_against_the_crd(name: str) -> None:
    crd.validate_analysis_template(templates()[name])


def test_gate_asks_fixloop_with_the_token() -> None:
    web = gate_metric()["provider"]["web"]
    assert web["url"] == in_cluster_url("/analysis/{{args.namespace}}/{{args.rollout}}")
    route = (
        url_path(web["url"])
        .replace("{{args.namespace}}", "{namespace}")
        .replace("{{args.rollout}}", "{rollout}")
    )
    assert (web["method"], route) in routes()
    assert web["jsonPath"] == "{$}"
    assert web["timeoutSeconds"] == 30 and web["timeoutSeconds"] > GATE_TIMEOUT
    assert web["headers"] == [{"key": "Authorization", "value": "Bearer {{args.token}}"}]
    args = {a["name"]: a for a in gate()["spec"]["args"]}
    assert set(args) == {"namespace", "rollout", "token"}
    reference = args["token"]["valueFrom"]["secretKeyRef"]
    secret = one("examples/fixloop-gate-secret.example.yaml", "Secret")
    assert reference == {"name": secret["metadata"]["name"], "key": "token"}
    assert set(secret["stringData"]) == {"token"}
    assert (
        secret["metadata"]["namespace"]
        == gate()["metadata"]["namespace"]
        == rollout()["metadata"]["namespace"]
    )


def test_gate_conditions_and_limits() -> None:
    metric = gate_metric()
    assert metric["successCondition"] == SUCCESS
    assert metric["failureCondition"] == FAILURE
    assert metric["interval"] == "1m"
    assert metric["count"] >= 1 and metric["failureLimit"] == 0 and metric["inconclusiveLimit"] >= 0


def evaluate(condition: str, result: dict[str, Any]) -> bool:
    """Argo's expr-lang, for the operators these conditions use (&&, ||, !, comparisons, result.field)."""
    source = condition.replace("&&", " and ").replace("||", " or ")
    source = re.sub(r"!(?!=)", " not ", source)
    source = re.sub(r"\bresult\.(\w+)", r'result["\1"]', source)

    def walk(node: ast.AST) -> Any:
        match node:
            case ast.Expression(body=body):
                return walk(body)
            case ast.BoolOp(op=ast.And(), values=values):
                return all(walk(v) for v in values)
            case ast.BoolOp(op=ast.Or(), values=values):
                return any(walk(v) for v in values)
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return not walk(operand)
            case ast.Compare(left=left, ops=[op], comparators=[right]):
                a, b = walk(left), walk(right)
                return {ast.GtE: a >= b, ast.Gt: a > b, ast.LtE: a <= b, ast.Lt: a < b, ast.Eq: a == b}[
                    type(op)
                ]
            case ast.Subscript(value=ast.Name(id="result"), slice=ast.Constant(value=str() as key)):
                return result[key]
            case ast.Constant(value=value):
                return value
        raise AssertionError(f"unexpected syntax in {condition!r}: {ast.dump(node)}")

    return bool(walk(ast.parse(source.strip(), mode="eval")))


@pytest.mark.parametrize(
    ("answer", "phase"),
    [
        ({"promote": True, "confidence": 85}, "Successful"),
        ({"promote": True, "confidence": 70}, "Successful"),
        ({"promote": False, "confidence": 90}, "Failed"),
        ({"promote": False, "confidence": 0}, "Inconclusive"),  # Fixloop's fail-closed answer
        ({"promote": True, "confidence": 40}, "Inconclusive"),
        ({"promote": False, "confidence": 69}, "Inconclusive"),
    ],
)
def test_gate_answers_map_to_measurement_phases(answer: dict[str, Any], phase: str) -> None:
    metric = gate_metric()
    answer = {**answer, "classification": "unknown", "summary": "..."}
    success = evaluate(metric["successCondition"], answer)
    failure = evaluate(metric["failureCondition"], answer)
    assert not (success and failure)
    # Argo's web provider: failureCondition first, then successCondition, else Inconclusive.
    assert ("Failed" if failure else "Successful" if success else "Inconclusive") == phase
