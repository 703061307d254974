"""An application walked in a real browser: the applicant's form, the reviewer's approval, the one-time
credential, the operator's zone page (login, a query, its check), the reviewer's release and the released
result downloaded from the operator's page."""

from __future__ import annotations

import os

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.portal.conftest import free_port, start_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def server(op_home, ops):
    ops.add_reviewer("jt_browser", "交通局审核员", "jtysj", "a long reviewer password")
    proc = start_server(op_home, free_port())
    base = proc.args[proc.args.index("--port") + 1]
    yield f"http://127.0.0.1:{base}"
    proc.terminate()
    proc.wait(timeout=15)


def test_an_application_from_the_form_to_a_released_zone_result(server, tmp_path):
    assert os.path.exists(CHROMIUM), "chromium is missing: `make browser` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        applicant = browser.new_context(locale="zh-CN").new_page()
        applicant.goto(server + "/apply")
        applicant.get_by_role("textbox", name="单位名称", exact=True).fill("苏州某数据科技有限公司")
        applicant.get_by_role("textbox", name="统一社会信用代码", exact=True).fill("91320000134756588U")
        applicant.get_by_role("textbox", name="联系人", exact=True).fill("李工")
        applicant.get_by_role("textbox", name="联系电话", exact=True).fill("0512-65000000")
        applicant.get_by_role("textbox", name="使用目的", exact=True).fill("出租车运力分析")
        applicant.get_by_role("textbox", name="应用场景", exact=True).fill("按区县统计行程数")
        applicant.locator("input[name=dataset][value=taxi_trips]").check()
        for field in ("district", "fare"):
            applicant.locator(f"input[name=field][value='taxi_trips.{field}']").check()
        applicant.get_by_label("开始日期").fill("2026-12-01")
        applicant.get_by_label("结束日期").fill("2027-12-31")
        applicant.get_by_role("button", name="提交申请").click()
        app_id = applicant.locator("#app-id").inner_text()
        secret = applicant.locator("#app-secret").inner_text()

        reviewer = browser.new_context(locale="zh-CN").new_page()
        reviewer.goto(server + "/review")
        reviewer.get_by_label("用户名").fill("jt_browser")
        reviewer.get_by_label("密码").fill("a long reviewer password")
        reviewer.get_by_role("button", name="登录").click()
        reviewer.wait_for_url("**/review")
        reviewer.get_by_role("link", name=app_id, exact=True).click()
        assert "出租车运力分析" in reviewer.content()
        reviewer.get_by_role("button", name="批准", exact=True).click()
        assert reviewer.locator("#status").inner_text() == "已批准"

        applicant.goto(server + "/apply/status")
        applicant.get_by_label("申请编号").fill(app_id)
        applicant.get_by_label("查询密码").fill(secret)
        applicant.get_by_role("button", name="查询").click()
        assert applicant.locator("#status").inner_text() == "已批准"
        applicant.get_by_role("button", name="领取授权凭证").click()
        credential = applicant.locator("#credential").inner_text()
        assert credential.startswith("sdo_")

        # the operator's zone page: log in with the credential, submit the query from the form
        operator = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
        operator.goto(server + "/zone")
        operator.get_by_label("专区授权凭证").fill(credential)
        operator.get_by_role("button", name="登录").click()
        operator.wait_for_url("**/zone")
        operator.get_by_label("SQL（一条聚合 SELECT 语句）").fill(
            "select district, count(*) as trips, sum(fare) as fares from taxi_trips group by district")
        operator.get_by_role("button", name="提交查询").click()
        operator.wait_for_url("**/zone#query-*")
        qid = operator.url.rsplit("-", 1)[1]
        mine = operator.locator(f"#query-{qid}")
        assert mine.locator(".check").inner_text() == "需人工审核"  # the dominated sum of 吴中区 is suppressed
        assert mine.locator(".release").inner_text() == "待审核发布" and mine.locator("table").count() == 0

        reviewer.goto(server + "/review")
        card = reviewer.locator(f"#query-{qid}")
        assert card.locator(".check").inner_text() == "需人工审核" and "—" in card.inner_text()
        reviewer.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        card.get_by_role("button", name="批准发布").click()
        reviewer.wait_for_url("**/review")
        assert reviewer.locator(f"#query-{qid}").count() == 0

        operator.reload()
        mine = operator.locator(f"#query-{qid}")
        assert mine.locator(".release").inner_text() == "已发布" and "吴中区" in mine.locator("table").inner_text()
        with operator.expect_download() as got:
            mine.get_by_role("link", name="下载结果 CSV").click()
        lines = open(got.value.path(), encoding="utf-8-sig").read().splitlines()
        browser.close()

    assert lines[0] == "district,trips,fares" and len(lines) == 5 and any(x.startswith("吴中区,60,") for x in lines)
    headers = {"Authorization": credential}
    api = httpx.get(f"{server}/api/operation/zone/queries/{qid}/result.csv", headers=headers, timeout=30)
    assert api.status_code == 200 and api.content.decode("utf-8-sig").splitlines() == lines
