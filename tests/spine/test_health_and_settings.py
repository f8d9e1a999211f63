"""Probes, metrics, and the settings contract (clear errors, hidden secrets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConfigError
from app.settings import Settings
from tests.fakes import keys
from tests.fakes.webhooks import load_fixture
from tests.harness import AppHarness


async def test_healthz_and_readyz(app_harness: AppHarness) -> None:
    assert (await app_harness.client.get("/healthz")).status == 200
    ready = await app_harness.client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_readyz_is_503_when_the_store_is_gone(app_harness: AppHarness) -> None:
    await app_harness.services.store.close()
    answer = await app_harness.client.get("/readyz")
    assert answer.status == 503
    assert "store unreachable" in (await answer.json())["error"]


async def test_metrics_count_deliveries_and_queue_depth(app_harness: AppHarness) -> None:
    await app_harness.post_webhook("issue_comment", load_fixture("issue_comment", "created"))
    await app_harness.post_webhook("issue_comment", load_fixture("issue_comment", "created"), secret="wrong")
    await app_harness.drain()
    text = await (await app_harness.client.get("/metrics")).text()
    assert (
        'fixloop_webhook_deliveries_total{event="issue_comment",outcome="queued",source="github"} 1.0' in text
    )
    assert 'outcome="refused_401"' in text
    assert 'fixloop_jobs_total{kind="github",outcome="done"} 1.0' in text
    assert "fixloop_job_queue_depth" in text


async def test_unknown_route_is_json_404(app_harness: AppHarness) -> None:
    answer = await app_harness.client.get("/nope")
    assert answer.status == 404
    assert (await answer.json())["error"]


def test_secrets_never_show_in_repr() -> None:
    settings = Settings.from_env(
        {
            "GITHUB_APP_ID": "1",
            "GITHUB_PRIVATE_KEY": keys.PRIVATE_KEY_PEM,
            "GITHUB_WEBHOOK_SECRET": "hook-secret-value",
            "OPENAI_API_KEY": "sk-live-value",
            "FIXLOOP_NOTIFY_TOKEN": "notify-value",
        }
    )
    text = repr(settings)
    for secret in ("hook-secret-value", "sk-live-value", "notify-value", "PRIVATE KEY"):
        assert secret not in text
    assert settings.github_webhook_secret.get() == "hook-secret-value"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL"),
        ({"FIXLOOP_WORKERS": "0"}, "FIXLOOP_WORKERS"),
        ({"FIXLOOP_LOG_FORMAT": "xml"}, "FIXLOOP_LOG_FORMAT"),
        ({"GITHUB_PRIVATE_KEY": "not a pem", "GITHUB_APP_ID": "1"}, "GITHUB_PRIVATE_KEY"),
        (
            {"GITHUB_PRIVATE_KEY_PATH": "/nonexistent/key.pem", "GITHUB_APP_ID": "1"},
            "GITHUB_PRIVATE_KEY_PATH",
        ),
        ({"GITHUB_PRIVATE_KEY": keys.PRIVATE_KEY_PEM}, "GITHUB_APP_ID"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert str(raised.value).startswith(named)


def test_an_empty_environment_gives_every_default() -> None:
    """An unset variable leaves its field's default: the environment table and the dataclass agree."""
    assert Settings.from_env({}) == Settings()


def test_private_key_from_file(tmp_path: Path) -> None:
    path = keys.write_private_key(tmp_path)
    settings = Settings.from_env({"GITHUB_APP_ID": "7", "GITHUB_PRIVATE_KEY_PATH": str(path)})
    assert settings.github_enabled


class _Recording(dict[str, str]):
    """An environment that remembers every variable the settings asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def test_env_example_and_readme_document_every_variable_the_settings_read() -> None:
    root = Path(__file__).resolve().parents[2]
    env = _Recording()
    Settings.from_env(env)
    example = {
        line.split("=", 1)[0]
        for line in (root / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    readme = (root / "README.md").read_text()
    assert env.asked == example
    assert [name for name in sorted(env.asked) if f"`{name}`" not in readme] == []
