"""Container logs of the fake Kubernetes API, served like ``GET /api/v1/namespaces/{ns}/pods/{pod}/log``.

Lines are stored with their timestamp; a line given in ``kubectl logs --timestamps`` form
(``2026-03-02T10:00:06.123Z message``) keeps its time, any other line gets the ``start`` time given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.kube_store import ApiError

_STAMPED = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) (.*)$", re.DOTALL)
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_time(text: str) -> datetime:
    """RFC3339 with up to nanoseconds (Python keeps microseconds)."""
    head, _, frac = text.rstrip("Z").partition(".")
    stamp = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return stamp.replace(microsecond=int((frac + "000000")[:6])) if frac else stamp


def parse_bool(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ApiError(400, "BadRequest", f"invalid boolean value {value!r} for {name}")


@dataclass(frozen=True)
class LogLine:
    time: datetime
    stamp: str
    text: str


class Logs:
    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str, bool], list[LogLine]] = {}

    def set(
        self, ns: str, pod: str, container: str, lines: Iterable[str], *, previous: bool, start: str
    ) -> None:
        stored = []
        for line in lines:
            found = _STAMPED.match(line)
            stamp, text = found.groups() if found else (start, line)
            stored.append(LogLine(parse_time(stamp), stamp, text))
        self.lines[(ns, pod, container, previous)] = stored

    def read(self, ns: str, pod: dict[str, Any], query: Mapping[str, str]) -> str:
        name = pod["metadata"]["name"]
        container = _container(pod, query.get("container"))
        previous = parse_bool("previous", query.get("previous"))
        key = (ns, name, container, previous)
        if key not in self.lines:
            _no_log(pod, container, previous)
            return ""
        lines = self.lines[key]
        if query.get("sinceTime"):
            try:
                since = parse_time(query["sinceTime"])
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid sinceTime {query['sinceTime']!r}") from None
            lines = [line for line in lines if line.time >= since]
        if query.get("tailLines"):
            tail = _int(query, "tailLines")
            lines = lines[-tail:] if tail else []
        stamps = parse_bool("timestamps", query.get("timestamps"))
        text = "".join(f"{line.stamp} {line.text}\n" if stamps else f"{line.text}\n" for line in lines)
        if query.get("limitBytes"):
            text = text.encode()[: _int(query, "limitBytes")].decode(errors="ignore")
        return text


def _int(query: Mapping[str, str], name: str) -> int:
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid {name} {query[name]!r}") from None
    if value < 0:
        raise ApiError(422, "Invalid", f"{name}: Invalid value: {value}: must be greater than or equal to 0")
    return value


def _container(pod: dict[str, Any], wanted: str | None) -> str:
    spec = pod.get("spec") or {}
    names = [c["name"] for c in spec.get("containers", [])]
    inits = [c["name"] for c in spec.get("initContainers", [])]
    pod_name = pod["metadata"]["name"]
    if not wanted:
        if len(names) == 1:
            return names[0]
        message = f"a container name must be specified for pod {pod_name}, choose one of: [{' '.join(names)}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise ApiError(400, "BadRequest", message)
    if wanted not in names + inits:
        raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {pod_name}")
    return wanted


def _no_log(pod: dict[str, Any], container: str, previous: bool) -> None:
    """No stored log: answer as the kubelet would for the container's state, else an empty log."""
    pod_name = pod["metadata"]["name"]
    if previous:
        raise ApiError(
            400, "BadRequest", f'previous terminated container "{container}" in pod "{pod_name}" not found'
        )
    status = pod.get("status") or {}
    for item in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
        waiting = (item.get("state") or {}).get("waiting")
        if item.get("name") == container and waiting and not item.get("restartCount"):
            reason = waiting.get("reason", "ContainerCreating")
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{pod_name}" is waiting to start: {reason}',
            )
