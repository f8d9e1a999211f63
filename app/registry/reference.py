"""Image references as container runtimes read them: ``[registry/]path[:tag][@digest]``.

The grammar is distribution's (``reference/reference.go``): the first path component is a registry only
when it holds a ``.`` or a ``:``, or is ``localhost``; otherwise the image is on Docker Hub, whose API host
is ``registry-1.docker.io`` and whose one-component names live under ``library/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST_RE = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9-]+)*(?::\d{1,5})?$")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # as written: docker.io, ghcr.io, 127.0.0.1:5000
    path: str  # library/nginx, acme/web
    tag: str = ""
    digest: str = ""

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned (the exact build), else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.path}"
        text += f":{self.tag}" if self.tag else ""
        return text + (f"@{self.digest}" if self.digest else "")


def parse_image(image: str) -> ImageRef | None:
    """The reference, or None when ``image`` is not one (it came from the cluster: untrusted)."""
    text, _, digest = image.strip().partition("@")
    if digest and not _DIGEST_RE.match(digest):
        return None
    registry, path = DOCKER_HUB, text
    first, slash, rest = text.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, tag = path.rsplit(":", 1)
        if not _TAG_RE.match(tag):
            return None
    if not _HOST_RE.match(registry) or not _PATH_RE.match(path) or len(path) > 255:
        return None
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return ImageRef(registry, path, tag, digest)


def same_repository(a: str, b: str) -> bool:
    """Whether two image strings name the same repository (tags and digests aside)."""
    ref_a, ref_b = parse_image(a), parse_image(b)
    return (
        ref_a is not None
        and ref_b is not None
        and (ref_a.registry, ref_a.path) == (ref_b.registry, ref_b.path)
    )
