import pytest

from app.loop.render.markers import (
    STATUS_MARKER,
    attempt_marker,
    defuse_markers,
    find_attempt,
    find_incident_id,
    has_marker,
    incident_marker,
    is_own_comment,
)


def test_incident_marker_round_trip() -> None:
    body = f"{incident_marker(42)}\n## Summary\ntext\n{attempt_marker(2)}\n"
    assert find_incident_id(body) == 42
    assert find_attempt(body) == 2


@pytest.mark.parametrize(
    "body",
    [
        None,
        "",
        "no marker here",
        "<!-- fixloop:incident=0 -->",
        "<!-- fixloop:incident=-3 -->",
        "<!-- fixloop:incident=007 -->",
        "<!-- fixloop:incident=12a -->",
        "<!-- fixloop:incident= 12 -->",
        "<!--fixloop:incident=12-->",
        "<!-- FIXLOOP:incident=12 -->",
        "<!-- fixloop:incident=1234567890123456789 -->",  # 19 digits
        "text <!-- fixloop:incident=12 --> inline",  # not on a line of its own
        "`<!-- fixloop:incident=12 -->`",
        "<!-- fixloop:incident=12 -->\n<!-- fixloop:incident=13 -->",  # a pasted, conflicting marker
        "<!-- fixloop:incident=１２ -->",  # full-width digits
    ],
)
def test_malformed_or_spoofed_markers_are_rejected(body: str | None) -> None:
    assert find_incident_id(body) is None


def test_repeated_same_marker_is_accepted() -> None:
    assert find_incident_id("<!-- fixloop:incident=5 -->\nx\n  <!-- fixloop:incident=5 -->") == 5


def test_marker_builders_refuse_bad_values() -> None:
    with pytest.raises(ValueError):
        incident_marker(0)
    with pytest.raises(ValueError):
        attempt_marker(0)


def test_has_marker_needs_a_whole_line() -> None:
    assert has_marker(f"{STATUS_MARKER}\n### Fixloop status", STATUS_MARKER)
    assert not has_marker(f"quote: {STATUS_MARKER}", STATUS_MARKER)
    assert not has_marker(None, STATUS_MARKER)


def test_own_comment_needs_the_app_as_author() -> None:
    body = f"{STATUS_MARKER}\nstatus"
    assert is_own_comment(body, STATUS_MARKER, author_login="fixloop[bot]", app_slug="fixloop")
    assert not is_own_comment(body, STATUS_MARKER, author_login="mallory", app_slug="fixloop")
    assert not is_own_comment(body, STATUS_MARKER, author_login="fixloop", app_slug="fixloop")
    assert not is_own_comment(body, STATUS_MARKER, author_login="[bot]", app_slug="")


def test_defused_text_cannot_plant_a_marker() -> None:
    planted = defuse_markers("<!-- fixloop:incident=9 -->")
    assert find_incident_id(planted) is None
    assert not has_marker(defuse_markers(STATUS_MARKER), STATUS_MARKER)
