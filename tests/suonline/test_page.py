"""The unit page over HTTP: key by query or form, cookie, what it shows."""

import re

from sudata import units

from .conftest import SPECS, SUONLINE, auth

STREET, DISTRICT = "320508021", "320508"


def test_query_key_sets_a_cookie_and_redirects(world, app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        r = c.get(f"/suonline/units/{STREET}", params={"key": world.keys[STREET]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/suonline/units/{STREET}"
        cookie = r.headers["set-cookie"]
        assert "suonline_session=" in cookie and "HttpOnly" in cookie and "Path=/suonline" in cookie
        assert "samesite=lax" in cookie.lower()
        assert world.keys[STREET] not in cookie  # the cookie holds a session id, never the key
        page = c.get(f"/suonline/units/{STREET}")
        assert page.status_code == 200 and "姑苏区双塔街道" in page.text
        # The cookie also opens the workbook and the JSON the page links to, for this unit only.
        assert c.get(f"/suonline/units/{STREET}/workbook.xlsx").status_code == 200
        assert c.get(f"/suonline/units/{STREET}/manifest").status_code == 200
        assert c.get(f"/suonline/units/{DISTRICT}/manifest").status_code == 403
        assert c.get(f"/suonline/units/{DISTRICT}").status_code == 403
        # Logging out forgets the key.
        session = c.cookies.get("suonline_session")
        out = c.get(f"/suonline/units/{STREET}/logout", follow_redirects=False)
        assert out.status_code == 303 and 'suonline_session=""' in out.headers["set-cookie"]
        assert c.get(f"/suonline/units/{STREET}").status_code == 403
        # the session is ended on the server too: replaying the old cookie opens nothing
        c.cookies.set("suonline_session", session, path="/suonline")
        assert c.get(f"/suonline/units/{STREET}/manifest").status_code == 403


def test_form_login(world, app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        r = c.get(f"/suonline/units/{DISTRICT}")
        assert r.status_code == 403 and 'name="key"' in r.text and "请输入本单位的苏在线密钥" in r.text
        csrf = csrf_field(r.text)
        bad = c.post(f"/suonline/units/{DISTRICT}/login", data={"key": "sd_wrong", "csrf": csrf},
                     follow_redirects=False)
        assert bad.status_code == 403 and "密钥无效" in bad.text and "suonline_session" not in bad.headers.get(
            "set-cookie", "")
        wrong_unit = c.post(f"/suonline/units/{DISTRICT}/login", data={"key": world.keys[STREET], "csrf": csrf},
                            follow_redirects=False)
        assert wrong_unit.status_code == 403
        ok = c.post(f"/suonline/units/{DISTRICT}/login", data={"key": world.keys[DISTRICT], "csrf": csrf},
                    follow_redirects=False)
        assert ok.status_code == 303 and "suonline_session=" in ok.headers["set-cookie"]
        assert world.keys[DISTRICT] not in ok.headers["set-cookie"]
        page = c.get(f"/suonline/units/{DISTRICT}")
        assert page.status_code == 200
        # A district's cookie opens its streets' pages.
        assert c.get(f"/suonline/units/{STREET}").status_code == 200


def csrf_field(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_login_form_is_protected_against_cross_site_requests(world, app):
    from fastapi.testclient import TestClient

    key = world.keys[DISTRICT]
    with TestClient(app) as c:
        # a forged form from another site: no token, or no CSRF cookie to tie a token to
        r = c.post(f"/suonline/units/{DISTRICT}/login", data={"key": key}, follow_redirects=False)
        assert r.status_code == 403 and "suonline_session" not in r.headers.get("set-cookie", "")
        token = csrf_field(c.get(f"/suonline/units/{DISTRICT}").text)
        assert c.post(f"/suonline/units/{DISTRICT}/login", data={"key": key, "csrf": token + "x"},
                      follow_redirects=False).status_code == 403
    with TestClient(app) as other:  # another browser's token does not fit this browser's cookie
        other.get(f"/suonline/units/{DISTRICT}")
        r = other.post(f"/suonline/units/{DISTRICT}/login", data={"key": key, "csrf": token}, follow_redirects=False)
        assert r.status_code == 403
        assert "suonline_session" not in r.headers.get("set-cookie", "")


def test_revoking_a_key_ends_its_browser_sessions(world, app):
    from fastapi.testclient import TestClient

    key = world.access.issue("unit", STREET, "临时值班")
    key_id = next(k["id"] for k in world.access.list() if k["holder"] == "临时值班")
    with TestClient(app) as c:
        assert c.get(f"/suonline/units/{STREET}", params={"key": key}).status_code == 200
        assert c.get(f"/suonline/units/{STREET}/manifest").status_code == 200
        world.access.revoke(key_id)
        assert c.get(f"/suonline/units/{STREET}/manifest").status_code == 403


def test_unknown_unit_page(client):
    r = client.get("/suonline/units/320599")
    assert r.status_code == 404 and "没有这个单位" in r.text


def test_page_lists_tonights_delivery(world, client):
    key = world.keys[DISTRICT]
    manifest = client.get(f"/suonline/units/{DISTRICT}/manifest", headers=auth(key)).json()["result"]
    html = client.get(f"/suonline/units/{DISTRICT}", headers=auth(key)).text
    assert '<meta name="viewport"' in html and 'lang="zh-CN"' in html
    assert "姑苏区" in html and "今晚送达" in html and "2024年06月03日 02:12" in html
    for d in manifest["datasets"]:
        block = re.search(rf'<li data-dataset="{d["name"]}">(.*?)</li>', html, re.S).group(1)
        assert SPECS[d["name"]].title in block
        assert f'{d["row_count"]:,} 行' in block
        if d["changes"]:
            for label, k in (("新增", "added"), ("变更", "changed"), ("删除", "removed")):
                assert f'{label} {d["changes"][k]:,}' in block
            assert "今晚更新" in block
        else:
            assert "首次送达" in block and "今晚更新" not in block
        if d["withheld_columns"]:
            assert "已拒绝提供" in block
    # Tonight's datasets come first, then the others.
    order = re.findall(r'<li data-dataset="([a-z_]+)">', html)
    assert order[-1] == "social_assistance_recipients" and sorted(order) == sorted(SUONLINE)
    for k in ("added", "changed", "removed"):
        assert f'data-k="{k}">{manifest["totals"][k]:,}<' in html
    # A district lists its streets.
    for s in units.streets_of(DISTRICT):
        assert f'href="/suonline/units/{s.code}"' in html
