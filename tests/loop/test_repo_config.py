import textwrap

from app.loop.incident.repo_config import (
    DEFAULT_CONFIG,
    AgentName,
    ConfigProblem,
    RedeployMode,
    RepoConfig,
    StageTimeouts,
    parse_repo_config,
    render_config_problems,
    resolve_agent,
    resolve_image,
)
from app.loop.incident.stages import Stage
from app.loop.render.markers import CONFIG_PROBLEMS_MARKER, has_marker


def parse(text: str) -> tuple[RepoConfig, list[ConfigProblem]]:
    result = parse_repo_config(textwrap.dedent(text))
    return result.config, result.problems


def test_defaults() -> None:
    for text in (None, "", "   \n", "# only a comment\n"):
        result = parse_repo_config(text)
        assert result.config == DEFAULT_CONFIG and result.problems == []
    config = DEFAULT_CONFIG
    assert config.agent is AgentName.NONE
    assert config.labels == ("fixloop", "rollout-failure")
    assert config.max_attempts == 3
    assert config.redeploy is RedeployMode.IMAGE
    assert config.on_pr_closed is Stage.NEEDS_HUMAN
    assert config.environment_for("shop", "web") == "canary/shop/web"
    assert config.image_for("abc") is None


def test_good_file() -> None:
    config, problems = parse(
        """
        agent: Copilot
        extra_prompt: Ignore color changes.
        labels: [fixloop, canary]
        max_attempts: 5
        redeploy: gitops
        image: ghcr.io/acme/web:{sha}
        environment: prod-canary
        assign_humans: ["@alice", bob-smith]
        on_pr_closed: agent_working
        stage_timeouts: {agent_pr: 12, canary: 1.5}
        """
    )
    assert problems == []
    assert config.agent is AgentName.COPILOT
    assert config.extra_prompt == "Ignore color changes."
    assert config.labels == ("fixloop", "canary")
    assert config.max_attempts == 5
    assert config.redeploy is RedeployMode.GITOPS
    assert config.image_for("deadbeef") == "ghcr.io/acme/web:deadbeef"
    assert config.environment_for("shop", "web") == "prod-canary"
    assert config.assign_humans == ("alice", "bob-smith")
    assert config.on_pr_closed is Stage.AGENT_WORKING
    assert config.stage_timeouts == StageTimeouts(agent_pr=12.0, image_build=2.0, canary=1.5)


def test_bad_yaml_names_line_and_column_and_uses_defaults() -> None:
    config, problems = parse("agent: copilot\nlabels: [a, b\nmax_attempts: 2\n")
    assert config == DEFAULT_CONFIG
    [problem] = problems
    assert problem.key is None and problem.line is not None and problem.line >= 2
    assert problem.column is not None
    assert "invalid YAML" in problem.message
    rendered = render_config_problems(problems)
    assert f"line {problem.line}" in rendered.lower()


def test_bad_indentation_reports_its_line() -> None:
    _, problems = parse("agent: copilot\n  redeploy: image\n")
    assert [p.line for p in problems] == [2]


def test_unknown_key_names_key_and_line_and_keeps_the_rest() -> None:
    config, problems = parse("agent: jules\nagnet: copilot\nmax_attempts: 4\n")
    assert config.agent is AgentName.JULES and config.max_attempts == 4
    assert problems == [ConfigProblem("agnet", 2, "unknown key; ignored")]


def test_wrong_types_and_values_fall_back_per_key() -> None:
    config, problems = parse(
        """\
        agent: gpt
        max_attempts: 11
        labels: {a: b}
        redeploy: true
        assign_humans: ["not a login!"]
        on_pr_closed: verified
        extra_prompt: 42
        environment: ""
        stage_timeouts: {agent_pr: -1, build: 2}
        max_attempts_ok: 1
        """
    )
    assert config.max_attempts == 3 and config.agent is AgentName.NONE
    assert config.stage_timeouts == StageTimeouts()
    by_key = {p.key: p for p in problems}
    expected = {
        "agent": 1,
        "max_attempts": 2,
        "labels": 3,
        "redeploy": 4,
        "assign_humans": 5,
        "on_pr_closed": 6,
        "extra_prompt": 7,
        "environment": 8,
        "stage_timeouts.agent_pr": 9,
        "stage_timeouts.build": 9,
        "max_attempts_ok": 10,
    }
    assert {key: p.line for key, p in by_key.items()} == expected
    assert "1 to 10" in by_key["max_attempts"].message
    assert "default" in by_key["agent"].message


def test_bool_is_not_a_number() -> None:
    config, problems = parse("max_attempts: true\n")
    assert config.max_attempts == 3 and problems[0].key == "max_attempts"


def test_image_template_needs_sha() -> None:
    for image in ("ghcr.io/acme/web:latest", "ghcr.io/acme/web:{tag}-{sha}", "ghcr.io/a b:{sha}"):
        config, problems = parse(f"image: '{image}'\n")
        assert config.image is None
        assert [p.key for p in problems] == ["image"]
        assert problems[0].line == 1


def test_extra_prompt_is_bounded() -> None:
    config, problems = parse("extra_prompt: '" + "x" * 2001 + "'\n")
    assert config.extra_prompt == "" and problems[0].key == "extra_prompt"


def test_top_level_must_be_a_mapping() -> None:
    config, problems = parse("- agent\n- copilot\n")
    assert config == DEFAULT_CONFIG and problems[0].line == 1


def test_duplicate_and_non_string_keys() -> None:
    config, problems = parse("agent: jules\nagent: claude\n1: x\n")
    assert config.agent is AgentName.CLAUDE
    assert [(p.key, p.line) for p in problems] == [("agent", 2), ("1", 3)]


def test_null_values_mean_default() -> None:
    config, problems = parse("agent:\nlabels:\n")
    assert config == DEFAULT_CONFIG and problems == []


def test_never_raises_on_odd_input() -> None:
    for text in ("a: !!python/object:os.system ls\n", "\t- x", "a: &a [*a]\n", "[" * 500, "x" * 70_000):
        result = parse_repo_config(text)
        assert result.config == DEFAULT_CONFIG


def test_render_config_problems_is_marked_and_inert() -> None:
    problems = [
        ConfigProblem("@octocat`<img src=x>", 3, "unknown key; ignored"),
        ConfigProblem(None, 2, "invalid YAML: expected <block end>, but found '<scalar>'", 5),
    ]
    text = render_config_problems(problems)
    assert has_marker(text, CONFIG_PROBLEMS_MARKER)
    assert "`@octocat'<img src=x>` (line 3)" in text
    assert "&lt;block end&gt;" in text and "Line 2, column 5" in text


def test_file_agent_wins_over_the_rollout_annotation() -> None:
    unset = parse_repo_config("labels: [x]\n").config
    assert resolve_agent(unset, "Jules") is AgentName.JULES
    assert resolve_agent(unset, "gpt") is AgentName.NONE
    assert resolve_agent(unset, None) is AgentName.NONE
    explicit_none = parse_repo_config("agent: none\n").config
    assert resolve_agent(explicit_none, "jules") is AgentName.NONE
    assert resolve_agent(parse_repo_config("agent: codex\n").config, "jules") is AgentName.CODEX


def test_file_image_wins_over_the_rollout_annotation() -> None:
    unset = DEFAULT_CONFIG
    assert resolve_image(unset, "ghcr.io/a/b:{sha}") == "ghcr.io/a/b:{sha}"
    assert resolve_image(unset, "ghcr.io/a/b:latest") is None
    configured = parse_repo_config("image: ghcr.io/acme/web:{sha}\n").config
    assert resolve_image(configured, "ghcr.io/a/b:{sha}") == "ghcr.io/acme/web:{sha}"


def test_soak_hours() -> None:
    assert DEFAULT_CONFIG.soak_hours == 24.0
    assert parse("soak_hours: 2\n")[0].soak_hours == 2.0
    assert parse("soak_hours: 0\n")[0].soak_hours == 0.0, "0: closed for good at verification"
    for bad in ("-1", "721", "true", "'a day'", "[1]"):
        config, problems = parse(f"soak_hours: {bad}\n")
        assert config.soak_hours == 24.0
        assert [(p.key, p.line) for p in problems] == [("soak_hours", 1)]
        assert "from 0 to 720" in problems[0].message
