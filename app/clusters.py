"""The cluster registry: which clusters may notify Fixloop, how each is reached, what repos consent to.

``FIXLOOP_CLUSTERS_FILE`` names a YAML file::

    clusters:
      prod-eu:
        tokens: [current-token, previous-token]   # notify/gate bearer tokens; the first is current
        kubeconfig: /etc/fixloop/kubeconfig       # with context, or in_cluster: true
        context: prod-eu
    default_sources:                              # consent of a repository without `sources:`
      - {cluster: "staging", namespaces: ["*"]}

Without the file there is one implicit cluster, ``default``: today's ``FIXLOOP_NOTIFY_TOKEN`` (and its
previous value), ``KUBECONFIG`` (or in-cluster), and every namespace consented, so a single-cluster setup
keeps working unchanged. With a file, a repository without ``sources:`` gets ``default_sources`` (empty
unless set: safe by default).

The bearer token identifies the cluster: it is compared, in constant time, with every token of every
cluster, and the cluster names come from this file only (bounded metric labels).
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from app.errors import ConfigError
from app.settings import Settings
from app.web import matching_candidate

DEFAULT_CLUSTER = "default"
# The cluster a notification job works for (set from its payload); incident-driven work names its
# incident's cluster explicitly (``Services.kube_for``) instead.
CURRENT_CLUSTER: ContextVar[str] = ContextVar("fixloop_cluster", default=DEFAULT_CLUSTER)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
MAX_RULES = 100


@dataclass(frozen=True)
class SourceRule:
    """Rollouts of clusters matching ``cluster`` in namespaces matching one of ``namespaces`` (globs)."""

    cluster: str
    namespaces: tuple[str, ...]

    def admits(self, cluster: str, namespace: str) -> bool:
        return fnmatchcase(cluster, self.cluster) and any(fnmatchcase(namespace, n) for n in self.namespaces)


ALL_SOURCES = (SourceRule("*", ("*",)),)


@dataclass(frozen=True)
class Cluster:
    name: str
    tokens: tuple[str, ...]
    kubeconfig: str = ""
    context: str = ""
    in_cluster: bool = False

    def __repr__(self) -> str:  # never the tokens
        return f"Cluster({self.name!r}, context={self.context!r})"


@dataclass(frozen=True)
class ClusterRegistry:
    clusters: tuple[Cluster, ...]
    default_sources: tuple[SourceRule, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.clusters)

    def get(self, name: str) -> Cluster | None:
        return next((c for c in self.clusters if c.name == name), None)

    def identify(self, presented: str) -> Cluster | None:
        """The cluster owning the bearer token, or None. Every token of every cluster is compared."""
        owners = [c for c in self.clusters for _ in c.tokens]
        found = matching_candidate(presented, [t for c in self.clusters for t in c.tokens])
        return owners[found] if found >= 0 else None


def consents(rules: tuple[SourceRule, ...], cluster: str, namespace: str) -> bool:
    return any(rule.admits(cluster, namespace) for rule in rules)


def load_clusters(settings: Settings) -> ClusterRegistry:
    """The registry of ``settings.clusters_file``, or the implicit ``default`` cluster; ConfigError names
    the first problem."""
    if not settings.clusters_file:
        default = Cluster(DEFAULT_CLUSTER, settings.notify_tokens, kubeconfig=settings.kubeconfig)
        return ClusterRegistry((default,), ALL_SOURCES)
    path = settings.clusters_file
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"FIXLOOP_CLUSTERS_FILE: cannot read {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"FIXLOOP_CLUSTERS_FILE: {path} is not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clusters"), dict) or not data["clusters"]:
        raise ConfigError("FIXLOOP_CLUSTERS_FILE: needs a non-empty `clusters:` mapping of name -> cluster")
    clusters = tuple(_cluster(str(name), entry) for name, entry in data["clusters"].items())
    tokens = [t for c in clusters for t in c.tokens]
    if len(set(tokens)) != len(tokens):
        raise ConfigError("FIXLOOP_CLUSTERS_FILE: a token is shared by two clusters: it must identify one")
    return ClusterRegistry(
        clusters, parse_sources(data.get("default_sources") or [], "FIXLOOP_CLUSTERS_FILE: default_sources")
    )


def _cluster(name: str, entry: object) -> Cluster:
    where = f"FIXLOOP_CLUSTERS_FILE: clusters.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: a cluster name is a DNS label (a-z, 0-9, -)")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a mapping")
    tokens = entry.get("tokens")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) and t for t in tokens):
        raise ConfigError(f"{where}.tokens: a list of one or two bearer tokens (current first)")
    if len(tokens) > 2:
        raise ConfigError(f"{where}.tokens: at most two (current and previous)")
    in_cluster = entry.get("in_cluster") is True
    kubeconfig, context = str(entry.get("kubeconfig") or ""), str(entry.get("context") or "")
    if in_cluster == bool(kubeconfig or context):
        raise ConfigError(f"{where}: set either `in_cluster: true` or `kubeconfig` (and `context`)")
    return Cluster(name, tuple(tokens), kubeconfig, context, in_cluster)


def parse_sources(value: object, where: str) -> tuple[SourceRule, ...]:
    """``[{cluster: glob, namespaces: [glob, ...]}, ...]``; a ConfigError names the broken entry."""
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise ConfigError(f"{where}: a list of {{cluster, namespaces}} (at most {MAX_RULES})")
    rules = []
    for index, item in enumerate(value):
        rule = source_rule(item)
        if rule is None:
            raise ConfigError(f"{where}[{index}]: needs `cluster: <glob>` and `namespaces: [<glob>, ...]`")
        rules.append(rule)
    return tuple(rules)


def source_rule(item: object) -> SourceRule | None:
    if not isinstance(item, dict):
        return None
    cluster, namespaces = item.get("cluster"), item.get("namespaces")
    if not isinstance(cluster, str) or not cluster or not isinstance(namespaces, list) or not namespaces:
        return None
    if not all(isinstance(n, str) and n for n in namespaces):
        return None
    return SourceRule(cluster, tuple(namespaces))
