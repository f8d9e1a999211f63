"""One typed, validated Settings object, built from the environment once at start.

Handlers never read ``os.environ``: they get this object injected. Secrets are wrapped in ``Secret`` so
that ``repr()``, logs and tracebacks show ``Secret('***')`` instead of the value. The parsers of the
variables' values are in ``app.settings_env``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from app import settings_env as parse
from app.errors import ConfigError
from app.registry.auth import Credential
from app.settings_env import EnvReader


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
        """Build and validate; raise ConfigError naming the first bad variable (in the fields' order)."""
        reader = EnvReader(os.environ if env is None else env)
        settings = cls(**{spec.name: _SOURCES[spec.name](reader, _default(spec)) for spec in fields(cls)})
        if settings.github_private_key and not settings.github_app_id:
            raise ConfigError("GITHUB_APP_ID: required when a private key is set")
        _check_previous(settings)
        return settings


# Reads one field from the environment, given the field's default.
_Read = Callable[[EnvReader, Any], Any]


def _variable(name: str, parse_value: Callable[[str], object] = str) -> _Read:
    """The field is the parsed value of the variable ``name``, or its default when that is unset or empty."""
    return lambda reader, default: reader.get(name, default, parse_value)


def _private_key(name: str) -> _Read:
    """A PEM key, inline in ``name`` or in the file ``{name}_PATH`` names (not both)."""
    return lambda reader, _field_default: Secret(parse.private_key(reader.env, name))


def _registry_credentials(reader: EnvReader, _field_default: object) -> dict[str, Credential]:
    return parse.registry_credentials(reader.env)


def _default(spec: Field[Any]) -> Any:
    return spec.default_factory() if spec.default_factory is not MISSING else spec.default


# Where each field of Settings comes from (every field has one: from_env fails on a field left out).
_SOURCES: dict[str, _Read] = {
    "port": _variable("PORT", parse.port),
    "github_app_id": _variable("GITHUB_APP_ID"),
    "github_private_key": _private_key("GITHUB_PRIVATE_KEY"),
    "github_private_key_previous": _private_key("GITHUB_PRIVATE_KEY_PREVIOUS"),
    "github_webhook_secret": _variable("GITHUB_WEBHOOK_SECRET", Secret),
    "github_webhook_secret_previous": _variable("GITHUB_WEBHOOK_SECRET_PREVIOUS", Secret),
    "github_api_url": _variable("GITHUB_API_URL", parse.url),
    "github_web_url": _variable("GITHUB_WEB_URL", parse.url),
    "github_client_id": _variable("GITHUB_CLIENT_ID"),
    "github_client_secret": _variable("GITHUB_CLIENT_SECRET", Secret),
    "public_url": _variable("FIXLOOP_PUBLIC_URL", parse.url),
    "notify_token": _variable("FIXLOOP_NOTIFY_TOKEN", Secret),
    "notify_token_previous": _variable("FIXLOOP_NOTIFY_TOKEN_PREVIOUS", Secret),
    "secret_key": _variable("FIXLOOP_SECRET_KEY", Secret),
    "openai_api_key": _variable("OPENAI_API_KEY", Secret),
    "openai_base_url": _variable("OPENAI_BASE_URL", parse.url),
    "llm_model": _variable("FIXLOOP_LLM_MODEL"),
    "database_url": _variable("DATABASE_URL", parse.database_url),
    "kubeconfig": _variable("KUBECONFIG"),
    "clusters_file": _variable("FIXLOOP_CLUSTERS_FILE"),
    "workers": _variable("FIXLOOP_WORKERS", parse.positive_int),
    "run_workers": _variable("FIXLOOP_RUN_WORKERS", parse.boolean),
    "job_max_attempts": _variable("FIXLOOP_JOB_MAX_ATTEMPTS", parse.positive_int),
    "job_lease_seconds": _variable("FIXLOOP_JOB_LEASE_SECONDS", parse.positive_float),
    "job_retention_days": _variable("FIXLOOP_JOB_RETENTION_DAYS", parse.retention_days),
    "log_format": _variable("FIXLOOP_LOG_FORMAT", parse.choice("json", "text")),
    "log_level": _variable("FIXLOOP_LOG_LEVEL", parse.choice(*parse.LOG_LEVELS)),
    "llm_timeout_seconds": _variable("FIXLOOP_LLM_TIMEOUT", parse.positive_float),
    "llm_token_budget": _variable("FIXLOOP_LLM_TOKEN_BUDGET", parse.positive_int),
    "llm_incident_token_cap": _variable("FIXLOOP_LLM_INCIDENT_TOKEN_CAP", parse.positive_int),
    "gate_cache_seconds": _variable("FIXLOOP_GATE_CACHE_SECONDS", parse.positive_float),
    "kube_timeout_seconds": _variable("FIXLOOP_KUBE_TIMEOUT", parse.positive_float),
    "max_pods_per_side": _variable("FIXLOOP_MAX_PODS_PER_SIDE", parse.positive_int),
    "log_tail_lines": _variable("FIXLOOP_LOG_TAIL_LINES", parse.positive_int),
    "github_timeout_seconds": _variable("FIXLOOP_GITHUB_TIMEOUT", parse.positive_float),
    "a2a_url": _variable("FIXLOOP_A2A_URL", parse.url),
    "a2a_timeout_seconds": _variable("FIXLOOP_A2A_TIMEOUT", parse.positive_float),
    "a2a_allowed_hosts": _variable("FIXLOOP_A2A_ALLOWED_HOSTS", parse.hosts),
    "mcp_port": _variable("FIXLOOP_MCP_PORT", parse.mcp_port),
    "mcp_url": _variable("FIXLOOP_MCP_URL", parse.url),
    "mcp_token_hours": _variable("FIXLOOP_MCP_TOKEN_HOURS", parse.positive_float),
    "registry_credentials": _registry_credentials,
    "registry_read": _variable("FIXLOOP_REGISTRY_READ", parse.boolean),
    "registry_insecure": _variable("FIXLOOP_REGISTRY_INSECURE", parse.registry_hosts),
    "registry_timeout_seconds": _variable("FIXLOOP_REGISTRY_TIMEOUT", parse.positive_float),
    "max_suspect_commits": _variable("FIXLOOP_MAX_SUSPECT_COMMITS", parse.positive_int),
}


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
