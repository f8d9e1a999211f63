"""Transport of the Kubernetes adapter: connection, timeouts, bounded retries, error mapping, metrics.

Objects come back as plain camelCase dicts (the API's JSON, ``_preload_content=False``): the generated
models would drop Argo fields and rename the rest. Every call has a timeout, bounded retries with
backoff on 5xx / 429 / timeouts / lost connections (``Retry-After`` honoured), and maps failures to the
app's errors (``kube_errors``). Each call's outcome is counted in ``metrics.kube_calls``.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiohttp
from kubernetes_asyncio import client, config
from kubernetes_asyncio.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

from app.errors import ConfigError
from app.metrics import Metrics
from app.rollouts.kube_errors import KubeUnavailable, http_error, outcome

_MAX_SLEEP = 5.0  # longest Retry-After slept inside a call; longer ones go back to the job runner

Request = Callable[[], Awaitable[Any]]


class KubeTransport:
    def __init__(
        self,
        api: client.ApiClient,
        *,
        timeout: float,
        metrics: Metrics | None = None,
        retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self._api = api
        self._timeout = timeout
        self._metrics = metrics
        self._retries = max(1, retries)
        self._backoff = backoff
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._custom = client.CustomObjectsApi(api)

    @classmethod
    async def create(
        cls,
        kubeconfig: str | None,
        timeout: float,  # noqa: ASYNC109 - the timeout of each API call, not of create()
        metrics: Metrics | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.2,
        context: str | None = None,
    ) -> Self:
        """Connect with ``kubeconfig`` if given, else in-cluster config, else ``~/.kube/config``;
        ``context`` names the kubeconfig context (default: its current-context)."""
        api = await _api_client(kubeconfig, context)
        return cls(api, timeout=timeout, metrics=metrics, retries=retries, backoff=backoff)

    async def close(self) -> None:
        await self._api.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    # -- plumbing ------------------------------------------------------------------------------------
    def _opts(self, **params: Any) -> dict[str, Any]:
        options = {key: value for key, value in params.items() if value is not None}
        return {**options, "_preload_content": False, "_request_timeout": self._timeout}

    async def _json(self, verb: str, what: str, request: Request) -> dict[str, Any]:
        body = await self._call(verb, what, request)
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise KubeUnavailable(f"{verb} {what}: the API answered something that is not JSON") from exc
        if not isinstance(data, dict):
            raise KubeUnavailable(f"{verb} {what}: the API answered JSON that is not an object")
        return data

    async def _items(self, verb: str, what: str, request: Request) -> list[dict[str, Any]]:
        items = (await self._json(verb, what, request)).get("items") or []
        return [item for item in items if isinstance(item, dict)]

    async def _call(self, verb: str, what: str, request: Request) -> bytes:
        for attempt in range(1, self._retries + 1):
            error = await self._attempt(verb, what, request)
            if isinstance(error, bytes):
                self._count(verb, "ok")
                return error
            wait = self._wait(attempt, error)
            if wait is None:
                self._count(verb, outcome(error))
                raise error
            self._count(verb, "retry")
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")

    async def _attempt(self, verb: str, what: str, request: Request) -> bytes | Exception:
        """The body of a 2xx answer, or the error it maps to."""
        try:
            async with asyncio.timeout(self._timeout):
                response = await request()
                try:
                    body: bytes = await response.read()
                finally:
                    response.release()
        except TimeoutError:
            return KubeUnavailable(f"{verb} {what}: timed out after {self._timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            return KubeUnavailable(f"{verb} {what}: cannot reach the API server ({reason})")
        except client.ApiException as exc:
            return http_error(verb, what, exc.status or 0, _bytes(exc.body), None)
        if 200 <= response.status < 300:
            return body
        return http_error(verb, what, response.status, body, response.headers.get("Retry-After"))

    def _wait(self, attempt: int, error: Exception) -> float | None:
        """Seconds to sleep before the next attempt, or None to give up now."""
        if not isinstance(error, KubeUnavailable) or attempt >= self._retries:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= _MAX_SLEEP else None
        ceiling = min(_MAX_SLEEP, self._backoff * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _count(self, verb: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.kube_calls.labels(verb=verb, outcome=outcome).inc()


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bytes(body: bytes | str | None) -> bytes:
    return body.encode() if isinstance(body, str) else body or b""


async def _api_client(kubeconfig: str | None, context: str | None = None) -> client.ApiClient:
    if not kubeconfig and not context:
        try:
            configuration = type.__call__(client.Configuration)
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return client.ApiClient(configuration=configuration)
        except config.ConfigException:
            pass  # not in a pod: try the user's kubeconfig
    return await _from_file(_kubeconfig_file(kubeconfig), context)


def _kubeconfig_file(kubeconfig: str | None) -> str:
    if kubeconfig:
        if not Path(kubeconfig).is_file():
            raise ConfigError(f"KUBECONFIG: no file at {kubeconfig}")
        return kubeconfig
    default = Path(KUBE_CONFIG_DEFAULT_LOCATION).expanduser()
    if not default.is_file():
        raise ConfigError(f"KUBECONFIG: not set, not running in a cluster, and no {default}")
    return str(default)


async def _from_file(path: str, context: str | None = None) -> client.ApiClient:
    try:
        api: client.ApiClient = await config.new_client_from_config(
            config_file=path, context=context, persist_config=False
        )
    except (config.ConfigException, OSError, ValueError) as exc:
        raise ConfigError(f"KUBECONFIG: cannot load {path}: {exc}") from exc
    return api
