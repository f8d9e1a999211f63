"""Who may name the A2A agent and where the MCP server listens: settings and .github/fixloop.yml."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import check_config
from app.errors import ConfigError
from app.loop.incident.repo_config import AnalysisConfig, parse_repo_config
from app.loop.steps.analysis import a2a_url_for
from app.settings import Settings
from tests.fakes.a2a_agent import FakeA2AAgent


def test_settings_read_the_agent_and_mcp_variables() -> None:
    settings = Settings.from_env(
        {
            "FIXLOOP_A2A_URL": "https://agent.example.com/",
            "FIXLOOP_A2A_TIMEOUT": "30",
            "FIXLOOP_A2A_ALLOWED_HOSTS": "Doctor.acme.internal, agents.example.com",
            "FIXLOOP_MCP_PORT": "0",
            "FIXLOOP_PUBLIC_URL": "https://fixloop.example.com",
        }
    )
    assert settings.a2a_url == "https://agent.example.com" and settings.a2a_timeout_seconds == 30
    assert settings.a2a_allowed_hosts == ("doctor.acme.internal", "agents.example.com")
    assert settings.mcp_port == 0 and settings.mcp_public_url == "https://fixloop.example.com/mcp"
    assert Settings.from_env({}).mcp_port is None, "no MCP server unless asked"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FIXLOOP_MCP_PORT", "70000"),
        ("FIXLOOP_A2A_URL", "agent.example.com"),
        ("FIXLOOP_A2A_ALLOWED_HOSTS", "a b"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})


def test_the_repository_names_its_agent_under_analysis() -> None:
    result = parse_repo_config("analysis:\n  a2a_url: https://doctor.acme.internal/\n")
    assert result.problems == []
    assert result.config.analysis == AnalysisConfig(a2a_url="https://doctor.acme.internal")


@pytest.mark.parametrize(
    "text",
    [
        "analysis:\n  a2a_url: http://doctor.acme.internal\n",  # not https
        "analysis:\n  a2a_url: https://\n",
        "analysis:\n  agent: x\n",
        "analysis: https://doctor.acme.internal\n",
    ],
)
def test_a_bad_analysis_key_is_reported_and_ignored(text: str) -> None:
    result = parse_repo_config(textwrap.dedent(text))
    assert result.config.analysis == AnalysisConfig()
    assert [p.key for p in result.problems] == ["analysis"] and result.problems[0].line == 1


@dataclass
class _Services:
    settings: Settings


def test_a_repository_agent_needs_an_allowed_host() -> None:
    config = parse_repo_config("analysis:\n  a2a_url: https://doctor.acme.internal\n").config
    allowed = _Services(
        Settings(a2a_url="https://ops.example.com", a2a_allowed_hosts=("doctor.acme.internal",))
    )
    assert a2a_url_for(allowed, config) == ("https://doctor.acme.internal", None)  # type: ignore[arg-type]
    closed = _Services(Settings(a2a_url="https://ops.example.com"))
    url, ignored = a2a_url_for(closed, config)  # type: ignore[arg-type]
    assert url == "https://ops.example.com" and ignored and "FIXLOOP_A2A_ALLOWED_HOSTS" in ignored
    nothing = _Services(Settings())
    assert a2a_url_for(nothing, parse_repo_config(None).config) == ("", None)  # type: ignore[arg-type]


async def test_check_config_reads_the_agent_card(
    fake_a2a: FakeA2AAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "GITHUB_WEBHOOK_SECRET": "s",
        "FIXLOOP_NOTIFY_TOKEN": "t",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "FIXLOOP_A2A_URL": fake_a2a.url,
        "FIXLOOP_MCP_PORT": "8090",
    }
    await check_config(Settings.from_env(env))
    out = capsys.readouterr().out
    assert "ok   FIXLOOP_A2A_URL: agent card of 'Canary Doctor' read" in out
    assert "info MCP server: port 8090" in out
    await fake_a2a.down()
    assert await check_config(Settings.from_env(env)) == 1
    assert "FAIL FIXLOOP_A2A_URL: agent card unreadable" in capsys.readouterr().out
