"""The cluster registry file, token identity, consent rules, and the fingerprint kept for ``default``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from app.cli import check_config
from app.clusters import ALL_SOURCES, SourceRule, consents, load_clusters
from app.errors import ConfigError
from app.loop.incident.repo_config import parse_repo_config
from app.rollouts.model import fingerprint, fingerprint_text, parse_rollout
from app.settings import Settings
from tests.fakes.kube_demo import demo_notification


def registry(tmp_path: Path, data: object) -> Settings:
    path = tmp_path / "clusters.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return Settings.from_env({"FIXLOOP_CLUSTERS_FILE": str(path)})


def test_without_a_file_one_default_cluster_with_todays_token_and_every_source() -> None:
    settings = Settings.from_env({"FIXLOOP_NOTIFY_TOKEN": "t1", "FIXLOOP_NOTIFY_TOKEN_PREVIOUS": "t0"})
    clusters = load_clusters(settings)
    assert clusters.names == ("default",)
    assert clusters.default_sources == ALL_SOURCES
    assert [clusters.identify(t) for t in ("t1", "t0", "x", "")] == [clusters.clusters[0]] * 2 + [None] * 2


def test_tokens_identify_their_cluster(tmp_path: Path) -> None:
    clusters = load_clusters(
        registry(
            tmp_path,
            {
                "clusters": {
                    "eu": {"tokens": ["a", "b"], "kubeconfig": "/k", "context": "eu"},
                    "us": {"tokens": ["c"], "in_cluster": True},
                },
                "default_sources": [{"cluster": "eu", "namespaces": ["shop-*"]}],
            },
        )
    )
    assert [getattr(clusters.identify(t), "name", None) for t in ("a", "b", "c", "d")] == [
        "eu",
        "eu",
        "us",
        None,
    ]
    assert clusters.default_sources == (SourceRule("eu", ("shop-*",)),)
    assert "a" not in repr(clusters.clusters[0])


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("clusters: [", "not YAML"),
        ({"clusters": {}}, "non-empty `clusters:`"),
        ({"clusters": {"Bad_Name": {"tokens": ["a"], "in_cluster": True}}}, "DNS label"),
        ({"clusters": {"eu": {"tokens": [], "in_cluster": True}}}, "tokens"),
        ({"clusters": {"eu": {"tokens": ["a", "b", "c"], "in_cluster": True}}}, "at most two"),
        ({"clusters": {"eu": {"tokens": ["a"]}}}, "either `in_cluster: true` or `kubeconfig`"),
        ({"clusters": {"eu": {"tokens": ["a"], "in_cluster": True, "kubeconfig": "/k"}}}, "either"),
        (
            {
                "clusters": {
                    "eu": {"tokens": ["a"], "in_cluster": True},
                    "us": {"tokens": ["a"], "in_cluster": True},
                }
            },
            "shared by two clusters",
        ),
        (
            {
                "clusters": {"eu": {"tokens": ["a"], "in_cluster": True}},
                "default_sources": [{"cluster": "eu"}],
            },
            "[0]",
        ),
    ],
)
def test_a_broken_registry_names_the_problem(tmp_path: Path, data: object, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_clusters(registry(tmp_path, data))
    assert str(raised.value).startswith("FIXLOOP_CLUSTERS_FILE") and says in str(raised.value)


def test_a_missing_registry_file_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings.from_env({"FIXLOOP_CLUSTERS_FILE": str(tmp_path / "nope.yaml")})
    with pytest.raises(ConfigError, match="cannot read"):
        load_clusters(settings)


def test_consent_globs_match_cluster_and_namespace() -> None:
    rules = (SourceRule("prod-*", ("shop", "shop-*")),)
    assert consents(rules, "prod-eu", "shop") and consents(rules, "prod-us", "shop-api")
    assert not consents(rules, "staging", "shop") and not consents(rules, "prod-eu", "payments")
    assert not consents((), "prod-eu", "shop")


def test_repo_config_sources() -> None:
    result = parse_repo_config('sources: [{cluster: "prod-*", namespaces: [shop]}]\n')
    assert result.config.sources == (SourceRule("prod-*", ("shop",)),) and result.problems == []
    assert parse_repo_config("agent: none\n").config.sources is None  # the operator's default applies
    broken = parse_repo_config("sources: [{cluster: prod}]\n")
    assert broken.config.sources == ()  # consents to nothing, and says so
    assert broken.problems and "consenting to no cluster" in broken.problems[0].message


def test_the_default_cluster_keeps_todays_fingerprint() -> None:
    view = parse_rollout(demo_notification()["rollout"])
    assert fingerprint_text(view) == fingerprint_text(view, "default")
    assert not fingerprint_text(view).startswith("default:")
    assert fingerprint(view, "prod-eu") != fingerprint(view) != fingerprint(view, "prod-us")
    assert fingerprint_text(view, "prod-eu") == "prod-eu:" + fingerprint_text(view)


async def test_check_config_names_the_registry_clusters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = registry(tmp_path, {"clusters": {"eu": {"tokens": ["a"], "in_cluster": True}}})
    settings = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'db'}")
    await check_config(settings)
    assert "ok   FIXLOOP_CLUSTERS_FILE: clusters eu" in capsys.readouterr().out
