"""The fleet page in a real headless Chromium: sign in through the fake GitHub's authorize page, the list,
one incident, and the access rule both ways (alice and carol each see only the repository they can read).

With FIXLOOP_SCREENSHOT_DIR set, the list and the incident page are saved there as fleet.png and
fleet-incident.png (the README's screenshot is made this way).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.ui.browser import Browser, require_browser
from tests.ui.conftest import HOSTILE, OTHER_REPO, Fleet

pytestmark = pytest.mark.slow
DEMO_REPO = "acme/rollouts-demo"


@pytest.fixture
async def browsers(tmp_path: Path) -> AsyncIterator[Callable[[str], Browser]]:
    require_browser()
    opened: list[Browser] = []

    def new(name: str) -> Browser:
        browser = Browser(tmp_path / f"profile-{name}")  # a fresh --user-data-dir per user
        opened.append(browser)
        return browser

    try:
        yield new
    finally:
        for browser in opened:
            await browser.close()


async def sign_in(fleet: Fleet, browser: Browser, login: str) -> None:
    await browser.get(f"{fleet.public_url}/ui")
    authorize = await browser.url()
    assert authorize.startswith(f"{fleet.github.web_url}/login/oauth/authorize"), authorize
    assert "Sign in to GitHub" in await browser.text()
    await browser.type_and_submit("login_field", login, "authorize")
    await browser.wait_for_url(f"{fleet.public_url}/ui")


async def test_each_user_sees_only_the_repositories_they_can_read(
    fleet: Fleet, browsers: Callable[[str], Browser]
) -> None:
    alice, carol = browsers("alice"), browsers("carol")
    await sign_in(fleet, alice, "alice")
    listing = await alice.text()
    assert DEMO_REPO in listing and "@alice" in listing
    assert OTHER_REPO not in listing, "alice cannot read globex/payments"
    assert f"{fleet.public_url}/ui/incidents/{fleet.demo.id}" in await alice.links()
    if os.environ.get("FIXLOOP_SCREENSHOT_DIR"):
        await alice.screenshot(Path(os.environ["FIXLOOP_SCREENSHOT_DIR"]) / "fleet.png")

    await sign_in(fleet, carol, "carol")
    listing = await carol.text()
    assert OTHER_REPO in listing and "@carol" in listing
    assert DEMO_REPO not in listing, "carol cannot read acme/rollouts-demo"

    await alice.get(f"{fleet.public_url}/ui/incidents/{fleet.secret.id}")
    assert "Not found" in await alice.text() and HOSTILE not in await alice.text()
    await carol.get(f"{fleet.public_url}/ui/incidents/{fleet.demo.id}")
    assert "Not found" in await carol.text()


async def test_incident_page_shows_timeline_evidence_and_links(
    fleet: Fleet, browsers: Callable[[str], Browser]
) -> None:
    alice = browsers("alice")
    await sign_in(fleet, alice, "alice")
    await alice.get(f"{fleet.public_url}/ui/incidents/{fleet.demo.id}")
    page = await alice.text()
    for shown in ("Timeline", "detected", "analysed", "issue_open", "agent_working", "handed to copilot"):
        assert shown in page, shown
    assert "index out of range" in page, "the evidence summary"
    issue = f"{fleet.github.web_url}/{DEMO_REPO}/issues/{fleet.demo.issue_number}"
    assert issue in await alice.links()
    if os.environ.get("FIXLOOP_SCREENSHOT_DIR"):
        await alice.screenshot(Path(os.environ["FIXLOOP_SCREENSHOT_DIR"]) / "fleet-incident.png")
    await alice.get(f"{fleet.public_url}/ui/scorecard")
    card = await alice.text()
    assert "copilot" in card and "jules" not in card, "the scorecard shows only readable repositories"


async def test_hostile_incident_text_stays_text_in_the_browser(
    fleet: Fleet, browsers: Callable[[str], Browser]
) -> None:
    carol = browsers("carol")
    await sign_in(fleet, carol, "carol")
    await carol.get(f"{fleet.public_url}/ui/incidents/{fleet.secret.id}")
    assert HOSTILE in await carol.text(), "shown as text"
    assert await carol.run("return document.querySelectorAll('script, img').length") == 0
    assert await carol.run("return document.cookie") == "", "the session cookie is HttpOnly"
