"""A read-only cluster from files: Kubernetes objects (YAML) plus container logs, as the demo ships them.

It answers the reads the evidence collector makes, so ``python -m app analyze`` runs on the bundled
example (or on a snapshot an operator captured with ``kubectl get -o yaml`` and ``kubectl logs``)
with no cluster and no credentials. Layout: ``<dir>/<name>.yaml`` holding the objects, and
``<dir>/logs/<namespace>/<pod>/<container>[.previous].log``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from app.rollouts.kube_errors import KubeNotFound

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _selector(text: str | None) -> dict[str, str]:
    """Equality selectors (``a=b,c==d``): what the collector sends."""
    pairs: dict[str, str] = {}
    for part in (text or "").split(","):
        if part.strip():
            key, _, value = part.replace("==", "=").partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _field(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class SnapshotCluster:
    def __init__(self, objects: Iterable[dict[str, Any]], logs_dir: Path) -> None:
        self._objects = [o for o in objects if isinstance(o, dict) and o.get("kind")]
        self._logs = logs_dir

    @classmethod
    def from_dir(cls, directory: Path = EXAMPLES, objects_file: str = "demo-cluster.yaml") -> SnapshotCluster:
        with (directory / objects_file).open(encoding="utf-8") as handle:
            objects = list(yaml.safe_load_all(handle))
        return cls(objects, directory / "logs")

    def _select(
        self, kind: str, ns: str, labels: str | None = None, fields: str | None = None
    ) -> list[dict[str, Any]]:
        wanted_labels, wanted_fields = _selector(labels), _selector(fields)
        found = []
        for obj in self._objects:
            meta = obj.get("metadata") or {}
            if obj["kind"] != kind or meta.get("namespace") != ns:
                continue
            have = meta.get("labels") or {}
            if any(have.get(k) != v for k, v in wanted_labels.items()):
                continue
            if any(str(_field(obj, k)) != v for k, v in wanted_fields.items()):
                continue
            found.append(obj)
        return found

    async def get_rollout(self, ns: str, name: str) -> dict[str, Any]:
        for obj in self._select("Rollout", ns, fields=f"metadata.name={name}"):
            return obj
        raise KubeNotFound(f"rollouts {ns}/{name} not found in the snapshot")

    async def list_pods(self, ns: str, label_selector: str) -> list[dict[str, Any]]:
        return self._select("Pod", ns, label_selector)

    async def list_replica_sets(self, ns: str, label_selector: str) -> list[dict[str, Any]]:
        return self._select("ReplicaSet", ns, label_selector)

    async def list_events(self, ns: str, field_selector: str) -> list[dict[str, Any]]:
        return self._select("Event", ns, fields=field_selector)

    async def list_analysis_runs(self, ns: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return self._select("AnalysisRun", ns, label_selector)

    async def read_log(
        self,
        ns: str,
        pod: str,
        container: str,
        *,
        tail_lines: int,
        since_time: str | None = None,
        previous: bool = False,
        limit_bytes: int | None = None,
        timestamps: bool = False,
    ) -> str:
        """The saved ``--timestamps`` log (its stamps are kept whatever ``timestamps`` says)."""
        path = self._logs / ns / pod / f"{container}{'.previous' if previous else ''}.log"
        if not path.is_file():
            raise KubeNotFound(f"no {'previous ' if previous else ''}log for {ns}/{pod}/{container}")
        lines = path.read_text(encoding="utf-8").splitlines()
        if since_time:
            lines = [line for line in lines if line[:20] >= since_time[:20] or not line[:1].isdigit()]
        text = "\n".join(lines[-tail_lines:])
        return text.encode()[:limit_bytes].decode(errors="ignore") if limit_bytes else text
