"""One typed, validated Settings object, built from the environment once at start.

Handlers never read ``os.environ``: they get this object injected. Secrets are wrapped in ``Secret`` so
that ``repr()``, logs and tracebacks show ``Secret('***')`` instead of the value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from app.errors import ConfigError
from app.registry.auth import Credential, parse_docker_config

T = TypeVar("T")


class Secret:
    """A string that does not show itself. Compare with ``hmac.compare_digest(s.get(), other)``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    port: int = 8080
    github_app_id: str = ""
    github_private_key: Secret = field(default_factory=lambda: Secret(""))
    github_private_key_previous: Secret = field(default_factory=lambda: Secret(""))
    github_webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    github_webhook_secret_previous: Secret = field(default_factory=lambda: Secret(""))
    github_api_url: str = "https://api.github.com"
    github_web_url: str = "https://github.com"
    github_client_id: str = ""
    github_client_secret: Secret = field(default_factory=lambda: Secret(""))
    public_url: str = "http://localhost:8080"
    notify_token: Secret = field(default_factory=lambda: Secret(""))
    notify_token_previous: Secret = field(default_factory=lambda: Secret(""))
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    openai_api_key: Secret = field(default_factory=lambda: Secret(""))
    openai_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    database_url: str = "sqlite:///fixloop.db"
    kubeconfig: str = ""
    clusters_file: str = ""  # the cluster registry (app.clusters); empty: one implicit cluster `default`
    # Tuning (FIXLOOP_*), with defaults that suit a small cluster.
    workers: int = 4
    run_workers: bool = (
        True  # False: this process only takes deliveries; `python -m app worker` runs the jobs
    )
    job_max_attempts: int = 8
    job_lease_seconds: float = 120.0
    job_retention_days: float = 7.0  # >= 3: a finished job's row is what dedups GitHub's redeliveries
    log_format: str = "json"
    log_level: str = "INFO"
    llm_timeout_seconds: float = 60.0
    llm_token_budget: int = 12000
    llm_incident_token_cap: int = 60000
    gate_cache_seconds: float = 300.0
    kube_timeout_seconds: float = 10.0
    max_pods_per_side: int = 5
    log_tail_lines: int = 2000
    github_timeout_seconds: float = 10.0
    # Agent mode (app/agents/a2a.py) and the incident MCP server (app/mcp/).
    a2a_url: str = ""  # an A2A agent that analyses every incident; empty: the inline LLM / offline
    a2a_timeout_seconds: float = 120.0
    a2a_allowed_hosts: tuple[str, ...] = ()  # hosts a repository's `analysis.a2a_url` may name
    mcp_port: int | None = None  # None: no MCP server; 0: any free port (tests)
    mcp_url: str = ""  # the MCP endpoint agents are told to use; empty: $FIXLOOP_PUBLIC_URL/mcp
    mcp_token_hours: float = 168.0  # an incident's MCP token lasts at most this long
    # Provenance: reading images' OCI labels, and the commits between stable and canary.
    # host -> credential from a .dockerconfigjson (Credential hides its password in repr)
    registry_credentials: Mapping[str, Credential] = field(default_factory=dict)
    registry_read: bool = True  # False: no request to any registry (no egress there)
    registry_insecure: frozenset[str] = frozenset()  # registries reached over plain HTTP
    registry_timeout_seconds: float = 10.0
    max_suspect_commits: int = 50

    @property
    def mcp_public_url(self) -> str:
        return self.mcp_url or f"{self.public_url}/mcp"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.openai_api_key)

    @property
    def webhook_secrets(self) -> tuple[str, ...]:
        """Every accepted webhook secret: the current one and, during a rotation, the previous one."""
        return _candidates(self.github_webhook_secret, self.github_webhook_secret_previous)

    @property
    def notify_tokens(self) -> tuple[str, ...]:
        """Every accepted notify/gate bearer token: the current one and, during a rotation, the previous."""
        return _candidates(self.notify_token, self.notify_token_previous)

    @property
    def github_private_keys(self) -> tuple[str, ...]:
        """The App keys, the signing one first (current); the previous one is the fallback on a 401."""
        return _candidates(self.github_private_key, self.github_private_key_previous)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_app_id and self.github_private_key)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build and validate; raise ConfigError naming the first bad variable."""
        env = os.environ if env is None else env
        reader = _EnvReader(env)
        settings = cls(
            port=reader.get("PORT", 8080, _port),
            github_app_id=reader.text("GITHUB_APP_ID"),
            github_private_key=Secret(_private_key(env)),
            github_private_key_previous=Secret(_private_key(env, "GITHUB_PRIVATE_KEY_PREVIOUS")),
            github_webhook_secret=Secret(reader.text("GITHUB_WEBHOOK_SECRET")),
            github_webhook_secret_previous=Secret(reader.text("GITHUB_WEBHOOK_SECRET_PREVIOUS")),
            github_api_url=reader.get("GITHUB_API_URL", "https://api.github.com", _url),
            github_web_url=reader.get("GITHUB_WEB_URL", "https://github.com", _url),
            github_client_id=reader.text("GITHUB_CLIENT_ID"),
            github_client_secret=Secret(reader.text("GITHUB_CLIENT_SECRET")),
            public_url=reader.get("FIXLOOP_PUBLIC_URL", "http://localhost:8080", _url),
            notify_token=Secret(reader.text("FIXLOOP_NOTIFY_TOKEN")),
            notify_token_previous=Secret(reader.text("FIXLOOP_NOTIFY_TOKEN_PREVIOUS")),
            secret_key=Secret(reader.text("FIXLOOP_SECRET_KEY")),
            openai_api_key=Secret(reader.text("OPENAI_API_KEY")),
            openai_base_url=reader.get("OPENAI_BASE_URL", "", _url),
            llm_model=reader.text("FIXLOOP_LLM_MODEL") or "gpt-4o-mini",
            database_url=reader.get("DATABASE_URL", "sqlite:///fixloop.db", _database_url),
            kubeconfig=reader.text("KUBECONFIG"),
            clusters_file=reader.text("FIXLOOP_CLUSTERS_FILE"),
            workers=reader.get("FIXLOOP_WORKERS", 4, _positive_int),
            run_workers=reader.get("FIXLOOP_RUN_WORKERS", True, _boolean),
            job_max_attempts=reader.get("FIXLOOP_JOB_MAX_ATTEMPTS", 8, _positive_int),
            job_lease_seconds=reader.get("FIXLOOP_JOB_LEASE_SECONDS", 120.0, _positive_float),
            job_retention_days=reader.get("FIXLOOP_JOB_RETENTION_DAYS", 7.0, _retention_days),
            log_format=reader.get("FIXLOOP_LOG_FORMAT", "json", _choice("json", "text")),
            log_level=reader.get("FIXLOOP_LOG_LEVEL", "INFO", _choice(*_LEVELS)),
            llm_timeout_seconds=reader.get("FIXLOOP_LLM_TIMEOUT", 60.0, _positive_float),
            llm_token_budget=reader.get("FIXLOOP_LLM_TOKEN_BUDGET", 12000, _positive_int),
            llm_incident_token_cap=reader.get("FIXLOOP_LLM_INCIDENT_TOKEN_CAP", 60000, _positive_int),
            gate_cache_seconds=reader.get("FIXLOOP_GATE_CACHE_SECONDS", 300.0, _positive_float),
            kube_timeout_seconds=reader.get("FIXLOOP_KUBE_TIMEOUT", 10.0, _positive_float),
            max_pods_per_side=reader.get("FIXLOOP_MAX_PODS_PER_SIDE", 5, _positive_int),
            log_tail_lines=reader.get("FIXLOOP_LOG_TAIL_LINES", 2000, _positive_int),
            github_timeout_seconds=reader.get("FIXLOOP_GITHUB_TIMEOUT", 10.0, _positive_float),
            a2a_url=reader.get("FIXLOOP_A2A_URL", "", _url),
            a2a_timeout_seconds=reader.get("FIXLOOP_A2A_TIMEOUT", 120.0, _positive_float),
            a2a_allowed_hosts=reader.get("FIXLOOP_A2A_ALLOWED_HOSTS", (), _hosts),
            mcp_port=reader.get("FIXLOOP_MCP_PORT", None, _mcp_port),
            mcp_url=reader.get("FIXLOOP_MCP_URL", "", _url),
            mcp_token_hours=reader.get("FIXLOOP_MCP_TOKEN_HOURS", 168.0, _positive_float),
            registry_credentials=_registry_credentials(env),
            registry_read=reader.get("FIXLOOP_REGISTRY_READ", True, _boolean),
            registry_insecure=reader.get("FIXLOOP_REGISTRY_INSECURE", frozenset(), _registry_hosts),
            registry_timeout_seconds=reader.get("FIXLOOP_REGISTRY_TIMEOUT", 10.0, _positive_float),
            max_suspect_commits=reader.get("FIXLOOP_MAX_SUSPECT_COMMITS", 50, _positive_int),
        )
        if settings.github_private_key and not settings.github_app_id:
            raise ConfigError("GITHUB_APP_ID: required when a private key is set")
        _check_previous(settings)
        return settings


def _candidates(current: Secret, previous: Secret) -> tuple[str, ...]:
    return tuple(secret.get() for secret in (current, previous) if secret)


def _check_previous(settings: Settings) -> None:
    """A previous value alone is a half-finished rotation: refuse it rather than run on the old value."""
    pairs = (
        ("GITHUB_PRIVATE_KEY", settings.github_private_key, settings.github_private_key_previous),
        ("GITHUB_WEBHOOK_SECRET", settings.github_webhook_secret, settings.github_webhook_secret_previous),
        ("FIXLOOP_NOTIFY_TOKEN", settings.notify_token, settings.notify_token_previous),
    )
    for name, current, previous in pairs:
        if previous and not current:
            raise ConfigError(f"{name}_PREVIOUS: set only during a rotation, next to {name}")


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class _EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str) -> str:
        return self._env.get(name, "").strip()

    def get(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError(f"must be a port number 1-65535, got {raw!r}")
    return value


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def _boolean(raw: str) -> bool:
    value = raw.lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError(f"must be true or false, got {raw!r}")
    return value in ("true", "1", "yes")


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"must be > 0, got {raw!r}")
    return value


def _retention_days(raw: str) -> float:
    value = _positive_float(raw)
    if value < REDELIVERY_WINDOW_DAYS:
        raise ValueError(f"must be >= {REDELIVERY_WINDOW_DAYS} (GitHub redelivers for 3 days), got {raw!r}")
    return value


REDELIVERY_WINDOW_DAYS = 3


def _url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    if not all(h.replace(".", "").replace("-", "").replace(":", "").isalnum() for h in hosts):
        raise ValueError(f"must be a comma-separated list of host names, got {raw!r}")
    return hosts


def _mcp_port(raw: str) -> int | None:
    """A port for the MCP server; 0 picks a free one (tests)."""
    return 0 if raw.strip() == "0" else _port(raw)


def _database_url(raw: str) -> str:
    if raw.startswith("sqlite:///") or raw.startswith(("postgresql://", "postgres://")):
        return raw
    raise ValueError("must start with sqlite:/// or postgresql://")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.upper() if allowed == _LEVELS else raw.lower()
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, got {raw!r}")
        return value

    return parse


def _private_key(env: Mapping[str, str], name: str = "GITHUB_PRIVATE_KEY") -> str:
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


def _registry_hosts(raw: str) -> frozenset[str]:
    hosts = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = [host for host in hosts if "/" in host or " " in host]
    if bad:
        raise ValueError(f"must be registry hosts (host[:port]) separated by commas, got {bad[0]!r}")
    return hosts


def _registry_credentials(env: Mapping[str, str]) -> dict[str, Credential]:
    """The dockerconfigjson file (a pull secret mounted into the pod), read and checked at start."""
    path = env.get("FIXLOOP_REGISTRY_AUTH_FILE", "").strip()
    if not path:
        return {}
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"FIXLOOP_REGISTRY_AUTH_FILE: cannot read {path}: {exc.strerror}") from None
    return parse_docker_config(text)  # raises ConfigError naming the problem
