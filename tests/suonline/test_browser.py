"""The unit page in a real browser (Debian's chromium, headless), at phone size."""

import socket
import threading
import time

import openpyxl
import pytest
import uvicorn
from playwright.sync_api import sync_playwright

from .conftest import SUONLINE

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STREET = "320508021"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_unit_page_on_a_phone(world, server, browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                              has_touch=True, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    try:
        first = page.goto(f"{server}/suonline/units/{STREET}")
        assert first.status == 403
        assert page.locator("h1").inner_text() == "姑苏区双塔街道"
        page.fill("#key", "sd_wrong")
        page.click("button[type=submit]")
        assert "密钥无效" in page.locator(".alert").inner_text()

        page.fill("#key", world.keys[STREET])
        with page.expect_navigation():
            page.click("button[type=submit]")
        assert page.url == f"{server}/suonline/units/{STREET}"
        assert page.locator("h1").inner_text() == "姑苏区双塔街道"
        assert "今晚送达" in page.locator("#summary").inner_text()
        cards = page.locator("ul.datasets > li")
        assert cards.count() == len(SUONLINE)
        assert page.locator("ul.datasets > li .badge.new").count() == 3
        assert page.locator("[data-k=datasets]").inner_text() == str(len(SUONLINE))

        # The counts on the page are the manifest's.
        manifest = page.request.get(f"{server}/suonline/units/{STREET}/manifest").json()["result"]
        for d in manifest["datasets"]:
            text = page.locator(f'li[data-dataset="{d["name"]}"]').inner_text()
            assert f'{d["row_count"]:,} 行' in text
            if d["changes"]:
                assert f'新增 {d["changes"]["added"]:,}' in text and f'删除 {d["changes"]["removed"]:,}' in text
        for k in ("added", "changed", "removed"):
            assert page.locator(f"[data-k={k}]").inner_text() == f'{manifest["totals"][k]:,}'

        # Phone-sized: nothing wider than the screen, buttons big enough to tap.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#workbook").bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.screenshot(path=str(tmp_path / "suonline_unit_page.png"), full_page=True)

        with page.expect_download() as dl:
            page.click("#workbook")
        download = dl.value
        assert download.suggested_filename.startswith("苏在线_姑苏区双塔街道_")
        saved = tmp_path / "workbook.xlsx"
        download.save_as(saved)
        book = openpyxl.load_workbook(saved, read_only=True)
        assert book.sheetnames[0] == "交付清单" and len(book.sheetnames) == 1 + len(SUONLINE)

        # Logging out returns to the key form.
        page.click("text=退出")
        page.wait_for_selector("#key")
        assert page.locator("ul.datasets").count() == 0
    finally:
        ctx.close()
