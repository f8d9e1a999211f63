"""A real headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by Selenium.

Selenium is synchronous and the app under test runs on the test's event loop, so every browser call runs
in a thread (``asyncio.to_thread``) and the loop keeps serving the pages. Nothing is downloaded: the
binaries are the system's, and Selenium Manager is told to stay offline.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
)


def require_browser() -> None:
    """Skip where Chromium is not installed, unless FIXLOOP_REQUIRE_BROWSER is set (CI sets it)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing and os.environ.get("FIXLOOP_REQUIRE_BROWSER"):
        pytest.fail(f"browser test required but not installed: {', '.join(missing)}")
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install -y chromium chromium-driver)")


class Browser:
    def __init__(self, profile: Path) -> None:
        from selenium import webdriver  # noqa: PLC0415 - only where a browser runs
        from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

        os.environ.setdefault("SE_OFFLINE", "true")
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
        self.driver.set_page_load_timeout(30)
        self._profile = profile

    async def get(self, url: str) -> None:
        await asyncio.to_thread(self.driver.get, url)

    async def type_and_submit(self, field_id: str, text: str, button_id: str) -> None:
        def act() -> None:
            from selenium.webdriver.common.by import By  # noqa: PLC0415

            self.driver.find_element(By.ID, field_id).send_keys(text)
            self.driver.find_element(By.ID, button_id).click()

        await asyncio.to_thread(act)

    async def text(self) -> str:
        def read() -> str:
            from selenium.webdriver.common.by import By  # noqa: PLC0415

            return str(self.driver.find_element(By.TAG_NAME, "body").text)

        return await asyncio.to_thread(read)

    async def links(self) -> list[str]:
        def read() -> list[str]:
            from selenium.webdriver.common.by import By  # noqa: PLC0415

            return [str(a.get_attribute("href")) for a in self.driver.find_elements(By.TAG_NAME, "a")]

        return await asyncio.to_thread(read)

    async def url(self) -> str:
        """Never read on the event loop: the driver may wait for a page the loop has to serve."""
        return str(await asyncio.to_thread(lambda: self.driver.current_url))

    async def wait_for_url(self, url: str, timeout: float = 30.0) -> None:
        def wait() -> None:
            from selenium.webdriver.support import expected_conditions  # noqa: PLC0415
            from selenium.webdriver.support.wait import WebDriverWait  # noqa: PLC0415

            WebDriverWait(self.driver, timeout).until(expected_conditions.url_to_be(url))

        await asyncio.to_thread(wait)

    async def screenshot(self, path: Path) -> None:
        await asyncio.to_thread(self.driver.save_screenshot, str(path))

    async def run(self, script: str) -> Any:
        return await asyncio.to_thread(self.driver.execute_script, script)

    async def close(self) -> None:
        await asyncio.to_thread(self.driver.quit)
        shutil.rmtree(self._profile, ignore_errors=True)
