"""The git commit each side of the canary (stable, canary) was built from, and where that was read.

In this order, the first that answers wins: the image template (``fixloop.dev/image`` or the repository's
``image``: ``ghcr.io/acme/web:{sha}`` read backwards on ``ghcr.io/acme/web:3f2c1e9`` gives ``3f2c1e9``); a
``fixloop.dev/revision`` (or SHA-shaped ``app.kubernetes.io/version``) annotation or label of the side's
pod template, pods or, for the canary, the Rollout; the image's OCI config label
``org.opencontainers.image.revision``, read from its registry. What could not be known is said, with
why; nothing else depends on it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from typing import Any

from app.analysis.evidence import Evidence, ImageChange, Side
from app.registry.client import RegistryClient, RegistryError
from app.registry.reference import parse_image, same_repository
from app.rollouts.evidence_parse import SIDECARS

log = logging.getLogger(__name__)

REVISION_LABEL = "org.opencontainers.image.revision"
SOURCE_LABEL = "org.opencontainers.image.source"
_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")
_SOURCE_RE = re.compile(r"^https://github\.com/([A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}?)(?:\.git)?/?$")


@dataclass(frozen=True)
class SideRevision:
    side: str  # canary | stable
    image: str
    revision: str  # "" when unknown
    source: str  # how it was found, or why it could not be
    repository: str = ""  # owner/name from org.opencontainers.image.source, when the image names one

    @property
    def known(self) -> bool:
        return bool(self.revision)


@dataclass(frozen=True)
class Provenance:
    canary: SideRevision
    stable: SideRevision

    def to_dict(self) -> dict[str, Any]:
        return {"canary": asdict(self.canary), "stable": asdict(self.stable)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance | None:
        try:
            return cls(SideRevision(**data["canary"]), SideRevision(**data["stable"]))
        except (KeyError, TypeError):
            return None


def revision_from_template(template: str, image: str) -> str:
    """``{sha}`` of ``template`` as it stands in ``image``, or "" when the image is not one it makes."""
    if "{sha}" not in template:
        return ""
    pattern = re.escape(template.strip()).replace(re.escape("{sha}"), "(?P<sha>[0-9a-f]{7,40})", 1)
    match = re.fullmatch(pattern, image.strip())
    return match.group("sha") if match else ""


def main_image(evidence: Evidence, template: str) -> ImageChange | None:
    """The changed container the template builds, else the first changed one that is not a sidecar."""
    changes = [change for change in evidence.images if change.container not in SIDECARS]
    for change in changes:
        if template and (same_repository(template.replace("{sha}", "0" * 7), change.canary)):
            return change
    return changes[0] if changes else None


async def resolve(registry: RegistryClient | None, evidence: Evidence, template: str) -> Provenance:
    change = main_image(evidence, template)
    sides = []
    for side in (Side.CANARY, Side.STABLE):
        image = "" if change is None else (change.canary if side is Side.CANARY else change.stable)
        sides.append(await resolve_side(registry, evidence, side, image, template))
    return Provenance(sides[0], sides[1])


async def resolve_side(
    registry: RegistryClient | None, evidence: Evidence, side: Side, image: str, template: str
) -> SideRevision:
    tried = []
    sha = revision_from_template(template, image) if image else ""
    if sha:
        return SideRevision(side.value, image, sha, f"image template {template}")
    tried.append("no image template matches its image" if template else "no image template is set")
    hint = next((h for h in evidence.revision_hints if h.side is side), None)
    if hint is not None:
        return SideRevision(side.value, image, hint.revision, hint.where)
    tried.append("no fixloop.dev/revision annotation or label")
    if not image:
        tried.append("no changed image to read labels from")
    elif registry is None:
        tried.append("the registry is not read")
    else:
        found = await _from_registry(registry, side, image)
        if found.known:
            return found
        tried.append(found.source)
    return SideRevision(side.value, image, "", "; ".join(tried))


async def _from_registry(registry: RegistryClient, side: Side, image: str) -> SideRevision:
    ref = parse_image(image)
    if ref is None:
        return SideRevision(side.value, image, "", "the image reference could not be parsed")
    try:
        config = await registry.image_config(ref)
    except RegistryError as exc:
        log.info("OCI labels of %s not read: %s", ref, exc)
        return SideRevision(side.value, image, "", f"OCI labels not read: {exc}")
    revision = config.labels.get(REVISION_LABEL, "").strip().lower()
    source = _SOURCE_RE.match(config.labels.get(SOURCE_LABEL, "").strip())
    repository = source.group(1) if source else ""
    if not _SHA_RE.match(revision):
        return SideRevision(side.value, image, "", f"the image has no {REVISION_LABEL} label", repository)
    where = f"OCI label {REVISION_LABEL} of {ref.registry}/{ref.path}@{config.digest[:19]}..."
    return SideRevision(side.value, image, revision, where, repository)


def carries(revision: str, sha: str) -> bool:
    """Whether a side's revision is the commit ``sha`` (a full SHA or a prefix of at least 7 of it)."""
    revision, sha = revision.lower(), sha.lower()
    return len(revision) >= 7 and len(sha) >= 7 and (sha.startswith(revision) or revision.startswith(sha))
