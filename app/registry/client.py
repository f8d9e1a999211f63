"""Read an image's config labels from its registry over the OCI distribution API (read-only).

``GET /v2/<name>/manifests/<reference>`` with the manifest media types in ``Accept``; an image index (or
Docker manifest list) gives the ``linux/amd64`` manifest, read by its digest; then ``GET
/v2/<name>/blobs/<config digest>``, whose ``config.Labels`` hold ``org.opencontainers.image.revision`` and
``.source``. Every body read by digest is checked against it (the registry is not trusted to serve the
bytes it names), every body is capped, every call has a timeout and bounded retries on 429/5xx.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

import aiohttp
from cachetools import TTLCache

from app.errors import FixloopError
from app.registry.auth import Challenge, Credential, credential_for, parse_challenge
from app.registry.reference import ImageRef

INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)
ACCEPT = ", ".join(sorted(INDEX_TYPES | MANIFEST_TYPES))
MAX_MANIFEST = 4 * 2**20  # distribution refuses manifests over 4 MiB itself
MAX_CONFIG = 4 * 2**20
MAX_TOKEN = 64 * 2**10
ATTEMPTS = 3
PLATFORM = ("linux", "amd64")


class RegistryError(FixloopError):
    """The labels could not be read; the message says why, for the issue (no secret in it)."""


@dataclass(frozen=True)
class ImageConfig:
    digest: str  # the manifest's digest
    labels: dict[str, str]


class RegistryClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        credentials: dict[str, Credential] | None = None,
        insecure: frozenset[str] = frozenset(),
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._credentials = credentials or {}
        self._insecure = insecure
        self._timeout = timeout
        # (registry, path) -> the Authorization header that last worked; tokens live minutes
        self._auth: TTLCache[tuple[str, str], str] = TTLCache(maxsize=256, ttl=240)

    async def image_config(self, ref: ImageRef) -> ImageConfig:
        manifest, digest = await self._manifest(ref, ref.reference)
        if manifest.get("mediaType") in INDEX_TYPES or "manifests" in manifest:
            chosen = _pick_platform(manifest)
            manifest, digest = await self._manifest(ref, chosen)
        config = manifest.get("config")
        if not isinstance(config, dict) or not isinstance(config.get("digest"), str):
            raise RegistryError(f"the manifest of {ref} names no config blob")
        blob = await self._get(ref, f"blobs/{config['digest']}", "*/*", MAX_CONFIG, expect=config["digest"])
        labels = (_json(blob, "config blob").get("config") or {}).get("Labels") or {}
        if not isinstance(labels, dict):
            raise RegistryError(f"the config of {ref} has malformed labels")
        return ImageConfig(digest, {str(k): str(v) for k, v in labels.items()})

    async def _manifest(self, ref: ImageRef, reference: str) -> tuple[dict[str, Any], str]:
        expect = reference if reference.startswith("sha256:") else ""
        body = await self._get(ref, f"manifests/{reference}", ACCEPT, MAX_MANIFEST, expect=expect)
        return _json(body, "manifest"), expect or "sha256:" + hashlib.sha256(body).hexdigest()

    def _base(self, ref: ImageRef) -> str:
        scheme = "http" if ref.registry in self._insecure else "https"
        return f"{scheme}://{ref.api_host}/v2/{ref.path}"

    async def _get(self, ref: ImageRef, tail: str, accept: str, cap: int, *, expect: str = "") -> bytes:
        """One read; the last authorisation for this repository is reused, a 401 fetches a fresh one."""
        url, key = f"{self._base(ref)}/{tail}", (ref.registry, ref.path)
        cached = {"Authorization": self._auth[key]} if key in self._auth else {}
        status, headers, body = await self._retrying(url, {"Accept": accept, **cached}, cap, ref)
        if status == 401:
            self._auth[key] = await self._authorise(ref, headers.get("WWW-Authenticate", ""))
            authorised = {"Accept": accept, "Authorization": self._auth[key]}
            status, headers, body = await self._retrying(url, authorised, cap, ref)
        if status != 200:
            raise RegistryError(_refusal(ref, status, tail, credential_for(self._credentials, ref.registry)))
        if expect and "sha256:" + hashlib.sha256(body).hexdigest() != expect:
            raise RegistryError(f"{ref.registry} served a body for {expect[:19]}... that does not match it")
        return body

    async def _retrying(
        self, url: str, headers: dict[str, str], cap: int, ref: ImageRef
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with asyncio.timeout(self._timeout), self._session.get(url, headers=headers) as resp:
                    body = await _read_capped(resp, cap, ref)
                    if resp.status not in (429, 500, 502, 503, 504) or attempt == ATTEMPTS:
                        return resp.status, dict(resp.headers), body
            except (aiohttp.ClientError, TimeoutError) as exc:
                if attempt == ATTEMPTS:
                    raise RegistryError(f"{ref.registry} unreachable: {type(exc).__name__}") from exc
            await asyncio.sleep(random.uniform(0.1, 0.3) * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _authorise(self, ref: ImageRef, header: str) -> str:
        challenge = parse_challenge(header)
        credential = credential_for(self._credentials, ref.registry)
        if challenge is None:
            raise RegistryError(f"{ref.registry} asked for authentication it does not describe")
        if challenge.scheme == "basic":
            if credential is None:
                raise RegistryError(f"{ref.registry} needs credentials and none are configured for it")
            return credential.basic()
        return "Bearer " + await self._token(ref, challenge, credential)

    async def _token(self, ref: ImageRef, challenge: Challenge, credential: Credential | None) -> str:
        realm = challenge.params.get("realm", "")
        scope = challenge.params.get("scope") or f"repository:{ref.path}:pull"
        parsed = urlparse(realm)
        secure = parsed.scheme == "https" or (parsed.scheme == "http" and ref.registry in self._insecure)
        if not parsed.netloc or not secure:
            raise RegistryError(f"{ref.registry} names a token service that is not HTTPS: not used")
        query = {
            "scope": scope,
            **({"service": challenge.params["service"]} if "service" in challenge.params else {}),
        }
        headers = {"Authorization": credential.basic()} if credential else {}
        status, _, body = await self._retrying(f"{realm}?{urlencode(query)}", headers, MAX_TOKEN, ref)
        if status != 200:
            raise RegistryError(_refusal(ref, status, "token", credential))
        answer = _json(body, "token answer")
        token = answer.get("token") or answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token service of {ref.registry} gave no token")
        return token


async def _read_capped(resp: aiohttp.ClientResponse, cap: int, ref: ImageRef) -> bytes:
    body = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 2**10):
        body += chunk
        if len(body) > cap:
            raise RegistryError(f"{ref.registry} answered more than {cap // 2**10} KiB for {ref}: not read")
    return bytes(body)


def _pick_platform(index: dict[str, Any]) -> str:
    entries = [
        m for m in index.get("manifests") or [] if isinstance(m, dict) and isinstance(m.get("digest"), str)
    ]
    for entry in entries:
        platform = entry.get("platform") or {}
        if (platform.get("os"), platform.get("architecture")) == PLATFORM:
            return str(entry["digest"])
    raise RegistryError("the image index has no linux/amd64 manifest")


def _json(body: bytes, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise RegistryError(f"the registry's {what} is not JSON") from None
    if not isinstance(data, dict):
        raise RegistryError(f"the registry's {what} is not a JSON object")
    return data


def _refusal(ref: ImageRef, status: int, what: str, credential: Credential | None) -> str:
    if status in (401, 403):
        why = (
            "the configured credentials were refused"
            if credential
            else "no credentials are configured for it"
        )
        return f"{ref.registry} refused to serve {ref} (HTTP {status}): {why}"
    if status == 404:
        thing = what.split("/", maxsplit=1)[0].rstrip("s")
        return f"{ref.registry} has no {thing} {ref.reference} for {ref.path} (HTTP 404)"
    return f"{ref.registry} answered HTTP {status} for {ref}"
