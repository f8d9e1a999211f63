"""Container logs of the fake Kubernetes API, served like ``GET /api/v1/namespaces/{ns}/pods/{pod}/log``.

What a real cluster does, in the order it does it (kube-apiserver's ``pods/log`` REST handler and
``LogLocation``, then the kubelet's ``validateContainerLogStatus`` and the CRI log reader):

1. The options are validated: ``tailLines`` >= 0, ``limitBytes`` > 0, ``sinceSeconds`` > 0, not both
   ``sinceTime`` and ``sinceSeconds`` (422 Invalid).
2. The container is resolved: none named and several in the pod is a 400 listing them (init containers
   too); a name the pod does not have is a 400. A pod not bound to a node answers an empty log.
3. The kubelet picks the container instance from the pod status: ``previous=true`` needs
   ``lastState.terminated`` (else 400 ``previous terminated container "c" in pod "p" not found``); a
   running or terminated container serves its own log; one waiting after a crash (CrashLoopBackOff) serves
   the last terminated instance, the same log ``previous`` gives; one waiting that never ran is a 400
   (``is waiting to start: ContainerCreating``, ``... trying and failing to pull image``).
4. The reader seeks the last ``tailLines`` lines first, then skips lines stamped before the later of
   ``sinceTime`` and now - ``sinceSeconds``, prefixes kept lines with their time in RFC3339 with nine
   fraction digits (``timestamps=true``), and stops at ``limitBytes``, cutting the last line.

Lines are stored with their time (the node's clock: the container runtime stamps them); a line given in
``--timestamps`` form keeps its time, any other line gets the ``start`` time given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.kube_store import ApiError

_STAMPED = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})) (.*)$", re.DOTALL
)
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_PULL_WAITING = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def parse_time(text: str) -> datetime:
    """RFC3339 with up to nanoseconds and any offset (Python keeps microseconds)."""
    return datetime.fromisoformat(_micro(text)).astimezone(UTC)


def _micro(text: str) -> str:
    """Fraction cut to 6 digits, which ``fromisoformat`` reads on every Python 3.11."""
    return re.sub(r"\.(\d{1,6})\d*", r".\1", text.replace("Z", "+00:00"))


def stamp_out(when: datetime, nanos: int = 0) -> str:
    """The kubelet's ``RFC3339NanoFixed``: nine fraction digits, always, in UTC."""
    when = when.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond * 1000 + nanos:09d}Z"


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
    nanos: int  # the digits past microseconds, kept for the output
    text: str


def _stored(line: str, start: str) -> LogLine:
    found = _STAMPED.match(line)
    stamp, text = found.groups() if found else (start, line)
    fraction = re.search(r"\.(\d+)", stamp)
    nanos = int((fraction.group(1) + "000000000")[6:9]) if fraction else 0
    return LogLine(parse_time(stamp), nanos, text)


class Logs:
    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.lines: dict[tuple[str, str, str, bool], list[LogLine]] = {}
        self.clock = clock or (lambda: datetime.now(UTC))

    def set(
        self, ns: str, pod: str, container: str, lines: Iterable[str], *, previous: bool, start: str
    ) -> None:
        self.lines[(ns, pod, container, previous)] = [_stored(line, start) for line in lines]

    def read(self, ns: str, pod: dict[str, Any], query: Mapping[str, str]) -> str:
        name = pod["metadata"]["name"]
        options = _options(name, query, self.clock())
        container = _container(pod, query.get("container"))
        if not (pod.get("spec") or {}).get("nodeName"):
            return ""  # not scheduled: the API server has no kubelet to ask and answers an empty log
        previous = _instance(pod, container, options.previous)
        lines = self.lines.get((ns, name, container, previous), [])
        if options.tail is not None:
            lines = lines[-options.tail :] if options.tail else []
        if options.since is not None:
            lines = [line for line in lines if line.time >= options.since]
        return _write(lines, options)


@dataclass(frozen=True)
class _Options:
    previous: bool
    timestamps: bool
    tail: int | None
    limit: int | None
    since: datetime | None


def _options(pod: str, query: Mapping[str, str], now: datetime) -> _Options:
    tail, limit, seconds = (_int(query, key) for key in ("tailLines", "limitBytes", "sinceSeconds"))
    since_text = query.get("sinceTime") or None
    invalid = []
    if tail is not None and tail < 0:
        invalid.append(f"tailLines: Invalid value: {tail}: must be greater than or equal to 0")
    if limit is not None and limit < 1:
        invalid.append(f"limitBytes: Invalid value: {limit}: must be greater than 0")
    if seconds is not None and since_text is not None:
        invalid.append("<nil>: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified")
    elif seconds is not None and seconds < 1:
        invalid.append(f"sinceSeconds: Invalid value: {seconds}: must be greater than 0")
    if invalid:
        detail = invalid[0] if len(invalid) == 1 else "[" + ", ".join(invalid) + "]"
        raise ApiError(422, "Invalid", f'PodLogOptions "{pod}" is invalid: {detail}')
    since = None
    if since_text is not None:
        try:
            since = parse_time(since_text)
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid sinceTime {since_text!r}") from None
    elif seconds is not None:
        since = now - timedelta(seconds=seconds)
    return _Options(
        parse_bool("previous", query.get("previous")),
        parse_bool("timestamps", query.get("timestamps")),
        tail,
        limit,
        since,
    )


def _write(lines: list[LogLine], options: _Options) -> str:
    """Lines as the kubelet writes them; ``limitBytes`` stops mid-line, on a byte (not a character)."""
    out = bytearray()
    for line in lines:
        text = f"{stamp_out(line.time, line.nanos)} {line.text}\n" if options.timestamps else f"{line.text}\n"
        out += text.encode()
        if options.limit is not None and len(out) >= options.limit:
            del out[options.limit :]
            break
    return out.decode(errors="replace")


def _int(query: Mapping[str, str], name: str) -> int | None:
    if not query.get(name):
        return None
    try:
        return int(query[name])
    except ValueError:
        raise ApiError(400, "BadRequest", f"invalid {name} {query[name]!r}") from None


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


def _has_id(state: Mapping[str, Any]) -> bool:
    """A terminated state names its container, unless it never started (``containerID: ""``); seeded
    objects without the field count as having one."""
    return state.get("containerID", "-") != ""


def _instance(pod: dict[str, Any], container: str, previous: bool) -> bool:
    """Which stored log the kubelet serves (True: the previous instance's), or its 400."""
    pod_name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    statuses = status.get("containerStatuses", []) + status.get("initContainerStatuses", [])
    found = next((item for item in statuses if item.get("name") == container), None)
    where = f'container "{container}" in pod "{pod_name}"'
    if found is None:
        raise ApiError(400, "BadRequest", f"{where} is not available")
    state = found.get("state") or {}
    last = (found.get("lastState") or {}).get("terminated")
    if previous:
        if not last or not _has_id(last):
            raise ApiError(400, "BadRequest", f"previous terminated {where} not found")
        return True
    if "running" in state:
        return False
    if "terminated" in state:
        if _has_id(state["terminated"]):
            return False
        if last and _has_id(last):
            return True
        raise ApiError(400, "BadRequest", f"{where} is terminated")
    if last:
        if not _has_id(last):
            raise ApiError(400, "BadRequest", f"{where} is terminated")
        return True  # waiting after a crash: the last terminated instance
    if "waiting" in state:
        reason = (state["waiting"] or {}).get("reason", "")
        raise ApiError(400, "BadRequest", f"{where} is waiting to start: {_PULL_WAITING.get(reason, reason)}")
    raise ApiError(400, "BadRequest", f"{where} is waiting to start - no logs yet")
