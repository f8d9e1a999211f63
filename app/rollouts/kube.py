"""Kubernetes client for Rollouts and the evidence around them (pods, logs, events, ReplicaSets, runs).

Reads return the API's JSON as dicts. Patches are RFC 7386 merge patches sent as
``application/merge-patch+json`` (kubernetes_asyncio would send a dict body as a JSON patch). Errors:
401/403 ``KubeForbidden``, 404 ``KubeNotFound``, 409 ``KubeConflict``, other 4xx ``KubeInvalid``
(permanent); 5xx, 429, timeouts and lost connections ``KubeUnavailable`` (transient), after retries.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.rollouts import actions
from app.rollouts.kube_errors import (
    KubeConflict,
    KubeForbidden,
    KubeInvalid,
    KubeNotFound,
    KubeUnavailable,
    RolloutMoved,
)
from app.rollouts.kube_transport import KubeTransport, rfc3339

__all__ = [
    "KubeClient",
    "KubeConflict",
    "KubeForbidden",
    "KubeInvalid",
    "KubeNotFound",
    "KubeUnavailable",
    "RolloutMoved",
]

log = logging.getLogger(__name__)

GROUP, VERSION = "argoproj.io", "v1alpha1"
CONFLICT_ATTEMPTS = 4  # a guarded patch answered 409: re-read, re-check and re-apply up to this often
MERGE_PATCH = "application/merge-patch+json"


class KubeClient(KubeTransport):
    """``await KubeClient.create(kubeconfig, timeout, metrics)``; ``await kube.close()`` when done."""

    # -- reads ---------------------------------------------------------------------------------------
    async def get_rollout(self, ns: str, name: str) -> dict[str, Any]:
        return await self._json(
            "get_rollout",
            f"rollouts {ns}/{name}",
            lambda: self._custom.get_namespaced_custom_object(
                GROUP, VERSION, ns, "rollouts", name, **self._opts()
            ),
        )

    async def list_rollouts(self, ns: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return await self._items(
            "list_rollouts",
            f"rollouts in {ns}",
            lambda: self._custom.list_namespaced_custom_object(
                GROUP, VERSION, ns, "rollouts", **self._opts(label_selector=label_selector)
            ),
        )

    async def list_pods(self, ns: str, label_selector: str) -> list[dict[str, Any]]:
        return await self._items(
            "list_pods",
            f"pods in {ns}",
            lambda: self._core.list_namespaced_pod(ns, **self._opts(label_selector=label_selector)),
        )

    async def list_replica_sets(self, ns: str, label_selector: str) -> list[dict[str, Any]]:
        return await self._items(
            "list_replica_sets",
            f"replicasets in {ns}",
            lambda: self._apps.list_namespaced_replica_set(ns, **self._opts(label_selector=label_selector)),
        )

    async def list_events(self, ns: str, field_selector: str) -> list[dict[str, Any]]:
        return await self._items(
            "list_events",
            f"events in {ns}",
            lambda: self._core.list_namespaced_event(ns, **self._opts(field_selector=field_selector)),
        )

    async def list_analysis_runs(self, ns: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        return await self._items(
            "list_analysis_runs",
            f"analysisruns in {ns}",
            lambda: self._custom.list_namespaced_custom_object(
                GROUP, VERSION, ns, "analysisruns", **self._opts(label_selector=label_selector)
            ),
        )

    async def read_log(
        self,
        ns: str,
        pod: str,
        container: str,
        *,
        tail_lines: int,
        since_time: datetime | str | None = None,
        previous: bool = False,
        limit_bytes: int | None = None,
        timestamps: bool = False,
    ) -> str:
        """A container's log tail (sent by hand: ``read_namespaced_pod_log`` has no sinceTime)."""
        query: list[tuple[str, Any]] = [("container", container), ("tailLines", tail_lines)]
        if timestamps:
            query.append(("timestamps", "true"))
        if since_time is not None:
            since = rfc3339(since_time) if isinstance(since_time, datetime) else since_time
            query.append(("sinceTime", since))
        if previous:
            query.append(("previous", "true"))
        if limit_bytes:
            query.append(("limitBytes", limit_bytes))
        body = await self._call(
            "read_log",
            f"pods/log {ns}/{pod}/{container}",
            lambda: self._api.call_api(
                "/api/v1/namespaces/{namespace}/pods/{name}/log",
                "GET",
                path_params={"namespace": ns, "name": pod},
                query_params=query,
                header_params={"Accept": "text/plain"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=self._timeout,
            ),
        )
        return body.decode("utf-8", errors="replace")

    # -- writes --------------------------------------------------------------------------------------
    async def patch_rollout(self, ns: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """RFC 7386 merge patch of the Rollout (status fields are ignored by the API server)."""
        return await self._json(
            "patch_rollout",
            f"rollouts {ns}/{name}",
            lambda: self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, ns, "rollouts", name, dict(patch), **self._opts(_content_type=MERGE_PATCH)
            ),
        )

    async def patch_rollout_status(self, ns: str, name: str, patch: Mapping[str, Any]) -> dict[str, Any]:
        """RFC 7386 merge patch through the ``status`` subresource (only status fields apply)."""
        return await self._json(
            "patch_rollout_status",
            f"rollouts/status {ns}/{name}",
            lambda: self._custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, ns, "rollouts", name, dict(patch), **self._opts(_content_type=MERGE_PATCH)
            ),
        )

    async def annotate_rollout(
        self, ns: str, name: str, annotations: Mapping[str, str | None]
    ) -> dict[str, Any]:
        """Set (or, with None, remove) annotations, e.g. ``fixloop.dev/incident``."""
        return await self.patch_rollout(ns, name, {"metadata": {"annotations": dict(annotations)}})

    # -- Rollout actions, as kubectl argo rollouts does them ------------------------------------------
    async def abort(self, ns: str, name: str) -> dict[str, Any]:
        return await self.patch_rollout_status(ns, name, actions.ABORT)

    async def retry(self, ns: str, name: str) -> dict[str, Any]:
        return await self.patch_rollout_status(ns, name, actions.RETRY)

    async def promote(self, ns: str, name: str, *, full: bool = False) -> dict[str, Any]:
        rollout = await self.get_rollout(ns, name)
        spec_patch, status_patch = actions.promote_patches(rollout, full=full)
        if status_patch is not None:
            rollout = await self.patch_rollout_status(ns, name, status_patch)
        if spec_patch is not None:
            rollout = await self.patch_rollout(ns, name, spec_patch)
        return rollout

    async def restart(self, ns: str, name: str, *, at: datetime | None = None) -> dict[str, Any]:
        return await self.patch_rollout(ns, name, actions.restart_patch(at))

    async def set_image(self, ns: str, name: str, container: str, image: str) -> dict[str, Any]:
        """``kubectl argo rollouts set image``: read, patch guarded by resourceVersion.

        The controller writes the Rollout all the time, so a 409 is common: the Rollout is read again and
        the change re-applied while it still holds (same revision, same image as first read), at most
        CONFLICT_ATTEMPTS times with a short backoff. Already carrying the image is success. Raises
        ``RolloutMoved`` when another writer changed the template or revision, ``KubeConflict`` when
        every attempt lost the race.
        """
        rollout = await self.get_rollout(ns, name)
        base = actions.ImageBase.of(rollout, container)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            verdict, why = actions.check_image_change(rollout, container, image, base)
            if verdict is actions.ImageCheck.APPLIED:
                return rollout
            if verdict is actions.ImageCheck.MOVED:
                raise RolloutMoved(f"set image on rollouts {ns}/{name}: {why}; Fixloop did not overwrite it")
            try:
                return await self.patch_rollout(ns, name, actions.set_image_patch(rollout, container, image))
            except KubeConflict as exc:
                if attempt == CONFLICT_ATTEMPTS:
                    raise KubeConflict(f"{exc} (still modified after {attempt} attempts)") from exc
                log.info(
                    "set image on rollouts %s/%s: 409 conflict, attempt %d; re-reading", ns, name, attempt
                )
            ceiling = self._backoff * 2 ** (attempt - 1)
            await asyncio.sleep(random.uniform(ceiling / 2, ceiling))
            rollout = await self.get_rollout(ns, name)
        raise AssertionError("unreachable")
