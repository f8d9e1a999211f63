"""The runtime install and the container image, checked without building either.

The full proof (a fresh virtual environment, no extras, the three commands) is
``tools/check_runtime_install.py``, run by ``.ci/run``; these catch the same mistakes in ``make test``.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.check_runtime_install import build_context_files

ROOT = Path(__file__).resolve().parent.parent


def _runtime_closure() -> set[str]:
    """Every distribution `pip install .` (no extras) brings: the declared dependencies, transitively."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pending = [Requirement(text) for text in project["dependencies"]]
    seen: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in metadata.distribution(requirement.name).requires or []:
            sub = Requirement(text)
            extras = requirement.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(sub)
    return seen


def _type_checking_block(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_modules(source: Path) -> Iterator[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    typing_only = {id(n) for block in ast.walk(tree) if _type_checking_block(block) for n in ast.walk(block)}
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_every_import_under_app_is_a_runtime_dependency() -> None:
    closure = _runtime_closure()
    providers = metadata.packages_distributions()
    undeclared = set()
    for source in sorted((ROOT / "app").rglob("*.py")):
        for module in _imported_modules(source):
            if module == "app" or module in sys.stdlib_module_names:
                continue
            dists = {canonicalize_name(d) for d in providers.get(module, [])}
            if not dists & closure:
                undeclared.add(f"{source.relative_to(ROOT)}: {module} (from {sorted(dists) or 'nothing'})")
    assert not undeclared, "imported by app/ but not in [project].dependencies:\n" + "\n".join(
        sorted(undeclared)
    )


def test_the_closure_sees_a_dev_only_package_as_missing() -> None:
    """The check above can fail: pytest is installed here, and is no runtime dependency."""
    closure = _runtime_closure()
    assert "pytest" not in closure
    assert {"gidgethub", "aiohttp", "jsonschema", "cryptography"} <= closure


def _dockerfile_stages() -> list[list[list[str]]]:
    stages: list[list[list[str]]] = []
    logical = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    for line in logical.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "FROM":
            stages.append([])
        stages[-1].append(words)
    return stages


def _instruction(stage: list[list[str]], name: str) -> list[list[str]]:
    return [words[1:] for words in stage if words[0] == name]


def test_the_image_runs_as_the_deployment_expects() -> None:
    build, final = _dockerfile_stages()
    deployment = yaml.safe_load((ROOT / "k8s" / "deployment.yaml").read_text(encoding="utf-8"))
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"].split(":")[0] == "ghcr.io/fixloop/fixloop"
    assert _instruction(final, "USER") == [
        [f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}"]
    ]
    assert " ".join(_instruction(final, "ENTRYPOINT")[0]) == '["python", "-m", "app"]'
    assert container["command"] == ["python", "-m", "app"]
    assert " ".join(_instruction(final, "CMD")[0]) == '["serve"]' and container["args"] == ["serve"]
    assert _instruction(final, "EXPOSE") == [[str(container["ports"][0]["containerPort"])]]
    assert not any(words[0] == "HEALTHCHECK" for stage in (build, final) for words in stage)
    assert all(words[0] != "COPY" or words[1].startswith("--from=") for words in final)


def test_the_image_installs_with_the_shared_script_and_the_copied_files_suffice() -> None:
    build, _ = _dockerfile_stages()
    runs = " ".join(" ".join(words) for words in _instruction(build, "RUN"))
    assert "sh tools/install-runtime.sh" in runs
    copied = {source for source, _ in build_context_files()}
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert {"pyproject.toml", "README.md", "app", "tools/install-runtime.sh"} <= copied
    assert "app" in package_data["package-data"]
