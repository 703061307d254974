"""The web catalog's HTML: Chinese, accessible structure, facets, the dataset page's parts."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class Outline(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def outline(html: str) -> Outline:
    p = Outline()
    p.feed(html)
    return p


def test_home_page_is_chinese_accessible_and_responsive(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = outline(r.text)
    html_tag = next(a for t, a in page.tags if t == "html")
    assert html_tag["lang"] == "zh-CN"
    assert any(t == "meta" and a.get("name") == "viewport" for t, a in page.tags)
    for landmark in ("header", "nav", "main", "footer", "aside"):
        assert any(t == landmark for t, _ in page.tags), landmark
    # every form control has a label
    ids = {a["id"] for t, a in page.tags if t in ("input", "select") and a.get("type") != "hidden"}
    labelled = {a["for"] for t, a in page.tags if t == "label"}
    assert ids and ids <= labelled
    assert 'role="search"' in r.text
    for heading in ("提供部门", "所属领域", "开放属性", "文件格式", "更新频率"):
        assert heading in r.text


def test_search_and_facets_narrow_the_results(client):
    r = client.get("/", params={"q": "公交"})
    assert re.search(r'id="result-count">2<', r.text)
    assert "公交线路信息" in r.text and "公交站点" in r.text and "企业登记信息" not in r.text
    r = client.get("/", params={"organization": "sthjj", "open_type": "unconditional"})
    assert re.search(r'id="result-count">2<', r.text)
    assert "空气质量日报" in r.text and "排污许可信息" not in r.text
    assert "移除条件 苏州市生态环境局" in r.text
    r = client.get("/", params={"res_format": "Parquet", "update_frequency": "每年"})
    assert re.search(r'id="result-count">2<', r.text)
    r = client.get("/", params={"q": "火星基地"})
    assert "没有找到" in r.text


def test_paging_and_sorting(client):
    html = client.get("/", params={"sort": "title"}).text
    titles = re.findall(r'<h3><a href="/dataset/[^"]+">([^<]+)</a></h3>', html)
    assert len(titles) == 18 and titles == sorted(titles)
    html = client.get("/", params={"sort": "modified"}).text
    dates = re.findall(r'更新于 <time datetime="([^"]+)"', html)
    assert dates == sorted(dates, reverse=True)
    assert "第 1 / 1 页" not in html  # 18 datasets fit on one page of 20: no pager
    empty = client.get("/", params={"page": "2"}).text
    assert "没有找到" in empty and 'rel="prev"' in empty


def test_dataset_page_has_every_part(client):
    r = client.get("/dataset/air_quality_daily")
    assert r.status_code == 200
    html = r.text
    assert "<h1 id=\"title\">空气质量日报</h1>" in html
    assert "各国控、省控监测点" in html                       # description
    assert "数据字典" in html and "<code>amount</code>" in html and "重要" in html   # columns with grades
    assert "质量报告" in html and "规范性" in html and "时效性" in html
    svg = re.search(r"<svg[^>]*role=\"img\".*?</svg>", html, re.S).group(0)
    assert svg.count("<circle") == 5                          # one point per version
    assert "<polyline" in svg and "第 5 版" in svg
    assert "未通过质量门禁" in html and "row_count_drop_air_quality_daily" in html   # the blocked run
    for v in range(1, 6):
        assert f"/dataset/air_quality_daily/version/{v}/download.csv" in html
    assert 'href="/dataset/air_quality_daily/download.parquet"' in html
    assert "/api/3/action/datastore_search?resource_id=" in html and "RemoteCKAN" in html
    assert "95.5" in html                                    # current score as a percentage


def test_conditional_dataset_page_explains_the_key(client):
    html = client.get("/dataset/taxi_operations").text
    assert "有条件开放" in html and "Authorization" in html


def test_unknown_dataset_page_is_404(client):
    assert client.get("/dataset/resident_register").status_code == 404
    assert client.get("/dataset/nothing_here").status_code == 404


def test_static_css_is_served(client):
    r = client.get("/static/portal.css")
    assert r.status_code == 200 and "@media" in r.text


def test_api_help_page(client):
    r = client.get("/about/api")
    assert r.status_code == 200 and "datastore_search" in r.text and "Authorization" in r.text
    assert 'aria-current="page">接口说明' in r.text
