"""The web catalog in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from .synthetic import SPECS, entry, rows_for, spec

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "chromium is missing: `make browser` installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_search_open_a_dataset_and_download(browser, live_server, tmp_path: Path):
    context = browser.new_context(accept_downloads=True, locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.get_by_label("搜索数据集").fill("空气质量")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/?q=*")
    assert page.locator("#result-count").inner_text() == "1"
    page.get_by_role("link", name="空气质量日报").click()
    page.wait_for_url("**/dataset/air_quality_daily")
    assert page.get_by_role("heading", level=1).inner_text() == "空气质量日报"
    assert page.locator("figure.chart svg circle").count() == 5
    shot = Path(os.environ.get("PORTAL_SCREENSHOT_DIR", tmp_path)) / "dataset-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    with page.expect_download() as info:
        page.locator("a[data-format='csv']").click()
    target = tmp_path / "download.csv"
    info.value.save_as(target)
    assert info.value.suggested_filename == "air_quality_daily-v000005.csv"
    text = target.read_text("utf-8-sig")
    assert text.count("\n") == len(rows_for(spec("air_quality_daily"), 5)) + 1
    context.close()


def test_word_search_then_a_dataset_then_the_kpi_page(browser, live_server, tmp_path: Path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(live_server + "/")
    page.get_by_label("搜索数据集").fill("养老院")          # a synonym of the catalog's 养老机构
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/?q=*")
    assert page.locator("#result-count").inner_text() == "1"
    page.get_by_role("link", name="养老机构信息").click()
    page.wait_for_url("**/dataset/elderly_care")
    assert page.get_by_role("heading", level=1).inner_text() == "养老机构信息"
    page.get_by_role("link", name="开放目标").click()
    page.wait_for_url("**/kpi")
    assert page.get_by_role("heading", level=1).inner_text() == "开放目标与进展"
    assert page.locator("#kpi-entries").inner_text() == str(len([s for s in SPECS if s.open_type != "closed"]))
    bar = page.locator("rect.bar[data-key='catalog_entries']")
    assert float(bar.get_attribute("width")) > 0
    assert page.locator("svg[role='img']").count() >= 2
    shot = Path(os.environ.get("PORTAL_SCREENSHOT_DIR", tmp_path)) / "kpi-page.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    context.close()


def test_facets_in_the_browser(browser, live_server):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/")
    page.locator("a[data-facet='organization'][data-value='jtysj']").click()
    page.wait_for_url("**organization=jtysj*")
    assert page.locator("#result-count").inner_text() == "3"
    page.locator("a[data-facet='open_type'][data-value='conditional']").click()
    assert page.locator("#result-count").inner_text() == "1"
    assert page.get_by_role("link", name="出租车运营统计").is_visible()
    context.close()


def test_works_on_a_phone(browser, live_server, tmp_path: Path):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="zh-CN")
    page = context.new_page()
    for path in ("/", "/dataset/enterprise_registry", "/kpi"):
        page.goto(live_server + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    # the data dictionary reads as one card per field: nothing to scroll sideways, every value on screen
    page.goto(live_server + "/dataset/enterprise_registry")
    table = page.locator("table.dictionary")
    sideways = table.evaluate("t => t.parentElement.scrollWidth - t.parentElement.clientWidth")
    assert sideways <= 0, sideways
    cells = page.locator("table.dictionary td[data-label='说明']")
    assert cells.count() == len(entry(spec("enterprise_registry")).columns) > 2
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (i, box)
    name_box = page.locator("table.dictionary tbody th").first.bounding_box()
    assert cells.first.bounding_box()["y"] > name_box["y"] + name_box["height"] - 1   # stacked under the field name
    label = cells.first.evaluate("c => getComputedStyle(c, '::before').content")
    assert "说明" in label
    # the search box is usable without zooming
    box = page.goto(live_server + "/") and page.get_by_label("搜索数据集").bounding_box()
    assert box["width"] > 250
    shot = Path(os.environ.get("PORTAL_SCREENSHOT_DIR", tmp_path)) / "home-phone.png"
    page.screenshot(path=str(shot), full_page=False)
    context.close()
