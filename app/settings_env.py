"""How each setting is read from its environment variable: the reader and the value parsers.

A parser takes the stripped, non-empty text of a variable and returns its value, or raises ``ValueError``
with the reason; the reader adds the variable's name (``ConfigError("PORT: must be ...")``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from app.errors import ConfigError
from app.registry.auth import Credential, parse_docker_config

T = TypeVar("T")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REDELIVERY_WINDOW_DAYS = 3


class EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None


def port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError(f"must be a port number 1-65535, got {raw!r}")
    return value


def positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def boolean(raw: str) -> bool:
    value = raw.lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"must be true or false, got {raw!r}")
    return value in ("true", "1", "yes")


def positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def retention_days(raw: str) -> float:
    value = positive_float(raw)
    if value < REDELIVERY_WINDOW_DAYS:
        raise ValueError(f"must be >= {REDELIVERY_WINDOW_DAYS} (GitHub redelivers for 3 days), got {raw!r}")
    return value


def url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def hosts(raw: str) -> tuple[str, ...]:
    names = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    if not all(h.replace(".", "").replace("-", "").replace(":", "").isalnum() for h in names):
        raise ValueError(f"must be a comma-separated list of host names, got {raw!r}")
    return names


def mcp_port(raw: str) -> int | None:
    """A port for the MCP server; 0 picks a free one (tests)."""
    return 0 if raw.strip() == "0" else port(raw)


def database_url(raw: str) -> str:
    if raw.startswith("sqlite:///") or raw.startswith(("postgresql://", "postgres://")):
        return raw
    raise ValueError("must start with sqlite:/// or postgresql://")


def choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.upper() if allowed == LOG_LEVELS else raw.lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


def private_key(env: Mapping[str, str], name: str = "GITHUB_PRIVATE_KEY") -> str:
    inline = env.get(name, "").strip()
    path = env.get(f"{name}_PATH", "").strip()
    if inline and path:
        raise ConfigError(f"{name} / {name}_PATH: set one, not both")
    if path:
        try:
            inline = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_PATH: cannot read {path}: {exc.strerror}") from None
    if not inline:
        return ""
    inline = inline.replace("\\n", "\n")  # a PEM pasted into one env line
    if "-----BEGIN" not in inline or "PRIVATE KEY-----" not in inline:
        raise ConfigError(f"{name}: not a PEM private key")
    return inline


def registry_hosts(raw: str) -> frozenset[str]:
    names = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = [host for host in names if "/" in host or " " in host]
    if bad:
        raise ValueError(f"must be registry hosts (host[:port]) separated by commas, got {bad[0]!r}")
    return names


def registry_credentials(env: Mapping[str, str]) -> dict[str, Credential]:
    """The dockerconfigjson file (a pull secret mounted into the pod), read and checked at start."""
    path = env.get("FIXLOOP_REGISTRY_AUTH_FILE", "").strip()
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"FIXLOOP_REGISTRY_AUTH_FILE: cannot read {path}: {exc.strerror}") from None
    return parse_docker_config(text)  # raises ConfigError naming the problem
