"""Reading an image's OCI labels from a real registry (docker-registry, token auth), and the revision
order of app.loop.origin.provenance on top of it."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from app.analysis.evidence import Evidence, ImageChange, RevisionHint, Side
from app.loop.origin.provenance import resolve, revision_from_template
from app.registry.auth import parse_docker_config
from app.registry.client import RegistryClient, RegistryError
from app.registry.reference import ImageRef, parse_image
from tests.fakes.registry import PUSHER, READER, Registry

SHA = "3f2c1e9d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e"
SOURCE = "https://github.com/acme/web"


@pytest.fixture
async def registry() -> AsyncIterator[Registry]:
    async with Registry.start() as started:
        yield started


def client(
    session: aiohttp.ClientSession, registry: Registry, credential: tuple[str, str] | None = None
) -> RegistryClient:
    """A client for the test registry, with a .dockerconfigjson holding ``credential`` if given."""
    pair = ":".join(credential).encode() if credential else b""
    auths = {registry.host: {"auth": base64.b64encode(pair).decode()}} if credential else {}
    found = parse_docker_config(json.dumps({"auths": auths}))
    return RegistryClient(session, credentials=found, insecure=frozenset({registry.host}), timeout=5)


async def test_labels_of_a_public_image_by_tag_and_by_digest(registry: Registry) -> None:
    labels = {"org.opencontainers.image.revision": SHA, "org.opencontainers.image.source": SOURCE}
    digest = await registry.push_image("public/web", "v1", labels)
    async with aiohttp.ClientSession() as session:
        reader = client(session, registry)
        by_tag = await reader.image_config(image(f"{registry.host}/public/web:v1"))
        by_digest = await reader.image_config(image(f"{registry.host}/public/web@{digest}"))
    assert by_tag.labels == labels and by_tag.digest == digest
    assert by_digest == by_tag
    pulls = [r for r in registry.token_requests if r["who"] != PUSHER[0]]
    assert pulls and {r["who"] for r in pulls} == {""}, "anonymous, through the token flow"


async def test_an_image_index_gives_the_linux_amd64_image(registry: Registry) -> None:
    await registry.push_image("public/multi", "v2", {"org.opencontainers.image.revision": SHA}, index=True)
    async with aiohttp.ClientSession() as session:
        found = await client(session, registry).image_config(image(f"{registry.host}/public/multi:v2"))
    assert found.labels == {"org.opencontainers.image.revision": SHA}


async def test_a_private_image_needs_the_configured_credentials(registry: Registry) -> None:
    await registry.push_image("private/web", "v1", {"org.opencontainers.image.revision": SHA})
    ref = image(f"{registry.host}/private/web:v1")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(RegistryError, match="no credentials are configured"):
            await client(session, registry).image_config(ref)
        with pytest.raises(RegistryError, match="credentials were refused"):
            await client(session, registry, ("reader", "wrong")).image_config(ref)
        found = await client(session, registry, READER).image_config(ref)
    assert found.labels["org.opencontainers.image.revision"] == SHA
    assert registry.token_requests[-1]["who"] == READER[0], (
        "the reader's credentials went to the token service"
    )


async def test_an_unknown_tag_is_said(registry: Registry) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(RegistryError, match="HTTP 404"):
            await client(session, registry).image_config(image(f"{registry.host}/public/none:v9"))


def image(text: str) -> ImageRef:
    ref = parse_image(text)
    assert ref is not None, text
    return ref


def _evidence(canary: str, stable: str, hints: list[RevisionHint] | None = None) -> Evidence:
    return Evidence(
        "demo", "web", "c1", "s1", images=[ImageChange("web", stable, canary)], revision_hints=hints or []
    )


async def test_the_revision_order_template_then_annotation_then_oci_label(registry: Registry) -> None:
    await registry.push_image(
        "public/web",
        "release-7",
        {"org.opencontainers.image.revision": SHA, "org.opencontainers.image.source": SOURCE},
    )
    canary, stable = f"{registry.host}/public/web:release-7", f"{registry.host}/public/web:1a2b3c4"
    hint = RevisionHint(Side.STABLE, "9" * 40, "annotation fixloop.dev/revision of ReplicaSet web-s1")
    template = f"{registry.host}/public/web:{{sha}}"
    async with aiohttp.ClientSession() as session:
        found = await resolve(client(session, registry), _evidence(canary, stable, [hint]), template)
        none = await resolve(None, _evidence(canary, "nginx:1.25"), "")
    assert (found.stable.revision, found.stable.source) == ("1a2b3c4", f"image template {template}")
    assert (
        found.canary.revision == SHA and "OCI label org.opencontainers.image.revision" in found.canary.source
    )
    assert found.canary.repository == "acme/web"
    assert not none.canary.known and "the registry is not read" in none.canary.source


def test_a_template_read_backwards() -> None:
    assert revision_from_template("ghcr.io/acme/web:{sha}", "ghcr.io/acme/web:3f2c1e9") == "3f2c1e9"
    assert (
        revision_from_template("ghcr.io/acme/web:{sha}-amd64", "ghcr.io/acme/web:3f2c1e9-amd64") == "3f2c1e9"
    )
    assert revision_from_template("ghcr.io/acme/web:{sha}", "ghcr.io/acme/web:latest") == ""
    assert revision_from_template("ghcr.io/acme/web:{sha}", "ghcr.io/evil/web:3f2c1e9") == ""
    assert revision_from_template("ghcr.io/acme/web:latest", "ghcr.io/acme/web:latest") == ""
