"""Registry credentials (a ``dockerconfigjson``, as in a pull secret) and the auth challenge of a 401.

A registry answers an anonymous request with 401 and ``WWW-Authenticate: Bearer realm="...",
service="...",scope="..."`` (the token flow of distribution's ``docs/spec/auth/token.md``: Docker Hub,
ghcr.io, GitLab, Harbor) or ``Basic realm="..."``. Credentials are sent to the token realm only over
HTTPS, unless the registry itself is one reached over plain HTTP on purpose.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from app.errors import ConfigError

DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Credential:
    username: str
    password: str

    def basic(self) -> str:
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def __repr__(self) -> str:
        return f"Credential({self.username!r}, '***')"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "bearer" | "basic"
    params: dict[str, str]


def parse_docker_config(text: str) -> dict[str, Credential]:
    """``{"auths": {"ghcr.io": {"auth": base64("user:token")}}}`` (or username/password) → host → credential.

    Raise ConfigError (the file is the operator's) naming what is wrong, never showing a secret.
    """
    try:
        data = json.loads(text)
    except ValueError:
        raise ConfigError("FIXLOOP_REGISTRY_AUTH_FILE: not JSON (expected a .dockerconfigjson)") from None
    auths = data.get("auths") if isinstance(data, dict) else None
    if not isinstance(auths, dict):
        raise ConfigError('FIXLOOP_REGISTRY_AUTH_FILE: no "auths" object (expected a .dockerconfigjson)')
    found: dict[str, Credential] = {}
    for key, entry in auths.items():
        credential = _credential(entry)
        if credential is None:
            raise ConfigError(f"FIXLOOP_REGISTRY_AUTH_FILE: the entry for {key!r} has no usable credentials")
        found[_host_key(str(key))] = credential
    return found


def _credential(entry: Any) -> Credential | None:
    if not isinstance(entry, dict):
        return None
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credential(entry["username"], entry["password"])
    try:
        user, sep, password = (
            base64.b64decode(str(entry.get("auth", "")), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return Credential(user, password) if sep and user else None


def _host_key(key: str) -> str:
    host = re.sub(r"^https?://", "", key).split("/", 1)[0].lower()
    return "docker.io" if key in DOCKER_HUB_KEYS or host in DOCKER_HUB_KEYS else host


def credential_for(credentials: dict[str, Credential], registry: str) -> Credential | None:
    return credentials.get(_host_key(registry))


def parse_challenge(header: str) -> Challenge | None:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "basic"):
        return None
    return Challenge(scheme.lower(), dict(_PARAM_RE.findall(rest)))
