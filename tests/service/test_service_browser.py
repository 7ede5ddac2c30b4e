"""The sales page in a real headless Chromium against a real ``leadscore serve`` process.

Chromium is Debian's ``chromium`` package (``.ci/run`` installs it), driven by Playwright
with ``executable_path``; Playwright's own browser download is not used.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright
from service_support import make_keys, project_from, seed_store, serve

from leadscore.data.simulator import Tables
from leadscore.store import Store

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium package is not installed; .ci/run installs it",
)


@pytest.fixture(scope="module")
def site(
    mlflow_home: Path, tmp_path_factory: pytest.TempPathFactory, small_run: Tables
) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
    """A served home with 40 scored leads: its URL, a read-only key, the API's ranking."""
    project = project_from(mlflow_home, tmp_path_factory.mktemp("site"))
    store = Store.open(project.settings)
    try:
        keys = make_keys(store)
        ids = seed_store(store, small_run, 40)
    finally:
        store.close()
    log = tmp_path_factory.mktemp("site-log") / "server.log"
    with (
        serve(project, log) as (_, base),
        httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {keys['all']}"}, timeout=30
        ) as api,
    ):
        assert api.post("/v1/score", json={"lead_ids": ids}).status_code == 200
        ranked = api.get("/v1/rankings", params={"limit": 1000}).json()["items"]
        yield base, keys["read"], ranked


def _cells(page: Page, column: int) -> list[str]:
    return page.locator(f"table.ranked tbody tr td:nth-child({column})").all_inner_texts()


def test_sign_in_ranked_list_and_a_leads_reasons(
    site: tuple[str, str, list[dict[str, Any]]],
    tmp_path: Path,
    record_property: Any,
) -> None:
    base, key, ranked = site
    assert len(ranked) > 5
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/app?limit=100")
            assert page.url.startswith(f"{base}/app/login")
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/app?limit=100")
            assert page.get_by_role("heading", name="Open leads").is_visible()
            assert _cells(page, 2) == [item["lead_id"] for item in ranked]
            scores = [int(text) for text in _cells(page, 6)]
            assert scores == sorted(scores, reverse=True)
            assert key not in page.content()
            listed = tmp_path / "sales-page-list.png"
            page.screenshot(path=str(listed), full_page=True)

            top = ranked[0]
            page.get_by_role("link", name=top["lead_id"], exact=True).click()
            page.wait_for_url(f"{base}/app/leads/{top['lead_id']}")
            reasons = page.locator("section:has(h2#why) ul.reasons").first.locator("li")
            assert reasons.all_inner_texts() == top["reasons"]
            assert page.locator("svg.sparkline").count() == 1
            shot = tmp_path / "sales-page-lead.png"
            page.screenshot(path=str(shot), full_page=True)

            page.set_viewport_size({"width": 390, "height": 800})
            page.go_back()
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            narrow = tmp_path / "sales-page-narrow.png"
            page.screenshot(path=str(narrow), full_page=True)
        finally:
            browser.close()
    for path in (listed, shot, narrow):
        assert path.stat().st_size > 10_000
    record_property("screenshots", ", ".join(str(p) for p in (listed, shot, narrow)))
    print(f"screenshots: {listed} {shot} {narrow}")
