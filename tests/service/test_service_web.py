"""The sales web page on a real app: sign-in, the ranked list, a lead's page, exports, errors."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import escape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook
from service_support import Client

from leadscore.service.web.signin import COOKIE

HOSTILE = "<script>alert('x')</script>"


class _Table(HTMLParser):
    """The body rows of the ranked table: cell texts and the lead link of each row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.next_page: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "a" and self._in_body and self._cell is not None and len(self.rows[-1]) == 1:
            self.links.append(found["href"] or "")
        elif tag == "a" and found.get("rel") == "next":
            self.next_page = found["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table(text: str) -> _Table:
    parser = _Table()
    parser.feed(text)
    return parser


@pytest.fixture(scope="module")
def hostile_lead(client: Client) -> str:
    """A scored lead whose owner and extra field are markup."""
    lead_id = f"web-{uuid.uuid4().hex[:8]}"
    body = {
        "created_at": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        "source": "webinar",
        "country": "DE",
        "deal_value": 25_000,
        "owner": HOSTILE,
        "extra": {"note": HOSTILE},
    }
    answer = client.request("PUT", f"/v1/leads/{lead_id}", json=body)
    assert answer.status_code == 200, answer.text
    return lead_id


@pytest.fixture(scope="module")
def scored(client: Client, hostile_lead: str) -> list[dict[str, object]]:
    """Every stored lead scored; the open ones as ``GET /v1/rankings`` lists them."""
    answer = client.request("POST", "/v1/score", json={"lead_ids": client.lead_ids})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = client.request(
        "GET", "/v1/rankings", params={"limit": 1000}
    ).json()["items"]
    assert len(items) > 10
    return items


@pytest.fixture
def browser(client: Client, scored: list[dict[str, object]]) -> Iterator[Client]:
    """The client signed in to the page with the read-only key; signed out afterwards."""
    answer = client.http.post(
        "/app/login", data={"key": client.keys["read"], "next": "/app"}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    yield client
    client.http.cookies.clear()


def test_pages_redirect_to_the_login_page_without_a_valid_cookie(client: Client) -> None:
    client.http.cookies.clear()
    for url in ["/app?grade=A", "/app/leads/anyone", "/app/export.csv", "/app/export.xlsx"]:
        answer = client.http.get(url, follow_redirects=False)
        assert answer.status_code == 303, url
        target = urlsplit(answer.headers["location"])
        assert target.path == "/app/login"
        assert parse_qs(target.query)["next"] == [url]
    client.http.cookies.set(COOKIE, "lsk_0123456789abcdef_" + "x" * 43, path="/app")
    assert client.http.get("/app", follow_redirects=False).status_code == 303
    client.http.cookies.clear()
    assert client.http.get("/", follow_redirects=False).headers["location"] == "/app"
    form = client.http.get("/app/login", params={"next": "https://evil.example/"})
    assert form.status_code == 200
    assert 'name="next" value="/app"' in form.text


def test_login_sets_a_strict_http_only_cookie_and_logout_clears_it(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = client.keys["read"]
    unknown = client.http.post("/app/login", data={"key": "lsk_" + "0" * 16 + "_" + "y" * 43})
    assert unknown.status_code == 401 and "unknown or revoked" in unknown.text
    lacking = client.http.post("/app/login", data={"key": client.keys["score"]})
    assert lacking.status_code == 403 and "lacks the &#x27;read&#x27; scope" in lacking.text
    foreign = client.http.post(
        "/app/login", data={"key": secret}, headers={"Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and COOKIE not in foreign.headers.get("set-cookie", "")
    answer = client.http.post(
        "/app/login",
        data={"key": secret, "next": "/app?grade=A"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/app?grade=A"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/app" in cookie
    assert "secure" not in cookie
    page = client.http.get("/app")
    assert page.status_code == 200 and "Sign out" in page.text
    for shown in [answer, page, unknown, lacking, foreign]:
        assert secret not in shown.text and secret not in shown.headers.get("location", "")
    gone = client.http.post("/app/logout", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"] == "/app/login"
    assert client.http.get("/app", follow_redirects=False).status_code == 303
    over_https = client.http.post(
        "https://testserver/app/login", data={"key": secret}, follow_redirects=False
    )
    assert "secure" in over_https.headers["set-cookie"].lower()
    client.http.cookies.clear()
    assert secret not in caplog.text


def test_rows_are_the_rankings_in_score_order(
    browser: Client, scored: list[dict[str, object]]
) -> None:
    table = _table(browser.http.get("/app", params={"limit": 1000}).text)
    assert [link.rsplit("/", 1)[-1] for link in table.links] == [i["lead_id"] for i in scored]
    scores = [int(row[5]) for row in table.rows]
    assert scores == sorted(scores, reverse=True)
    assert [row[4] for row in table.rows] == [i["grade"] for i in scored]


def test_paging_follows_the_rankings_cursor(
    browser: Client, scored: list[dict[str, object]]
) -> None:
    first = _table(browser.http.get("/app", params={"limit": 5}).text)
    assert first.next_page is not None
    second = _table(browser.http.get(first.next_page).text)
    seen = [link.rsplit("/", 1)[-1] for link in first.links + second.links]
    assert seen == [i["lead_id"] for i in scored[:10]]
    assert [row[0] for row in second.rows] == ["6", "7", "8", "9", "10"]


def test_filters_narrow_the_list(browser: Client, scored: list[dict[str, object]]) -> None:
    top, last = scored[0], scored[-1]
    cases: list[dict[str, object]] = [
        {"owner": top["owner"]},
        {"source": top["source"]},
        {"source": last["source"]},
        *({"grade": grade} for grade in "ABCD"),
        {"owner": last["owner"], "grade": last["grade"], "source": last["source"]},
    ]
    sizes = set()
    for filters in cases:
        table = _table(browser.http.get("/app", params={**filters, "limit": 1000}).text)
        expected = [i["lead_id"] for i in scored if all(i[k] == v for k, v in filters.items())]
        assert [link.rsplit("/", 1)[-1] for link in table.links] == expected, filters
        sizes.add(len(expected))
    assert any(0 < size < len(scored) for size in sizes)


def test_lead_page_shows_reasons_risks_history_and_activity(
    browser: Client, scored: list[dict[str, object]]
) -> None:
    top = scored[0]
    text = browser.http.get(f"/app/leads/{top['lead_id']}").text
    reasons = top["reasons"]
    assert isinstance(reasons, list) and reasons
    for reason in reasons:
        assert f"<li>{escape(str(reason))}</li>" in text
    assert "<h3>Risks</h3>" in text
    assert '<svg class="sparkline"' in text and "Latest scores, newest first" in text
    assert "touchpoints, first" in text
    assert f'<span class="big">{top["score"]}</span>' in text


def test_exports_hold_the_filtered_list(browser: Client, scored: list[dict[str, object]]) -> None:
    grade = str(scored[0]["grade"])
    exported = browser.http.get("/app/export.csv", params={"grade": grade})
    assert exported.headers["content-disposition"] == 'attachment; filename="leads.csv"'
    api = browser.request(
        "GET",
        "/v1/rankings",
        params={"grade": grade, "limit": 1000},
        headers={"Accept": "text/csv"},
    )
    assert list(csv.DictReader(io.StringIO(exported.text))) == list(
        csv.DictReader(io.StringIO(api.text))
    )
    expected = [i["lead_id"] for i in scored if i["grade"] == grade]
    workbook = browser.http.get("/app/export.xlsx", params={"grade": grade})
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("lead_id", "owner", "source", "grade", "score")
    assert [row[0] for row in rows[1:]] == expected
    assert {row[3] for row in rows[1:]} == {grade}


@pytest.mark.parametrize(
    ("url", "status", "says"),
    [
        ("/app/leads/nobody-at-all", 404, "No lead &#x27;nobody-at-all&#x27;"),
        ("/app?grade=Z", 422, "No grade &#x27;Z&#x27;"),
        ("/app?cursor=garbage", 422, "is not one this service handed out"),
        ("/app?limit=0", 422, "limit"),
        ("/app/export.csv?grade=Z", 422, "No grade"),
        ("/app/nowhere", 404, "There is no such page."),
    ],
    ids=["unknown-lead", "bad-grade", "bad-cursor", "bad-limit", "bad-export-grade", "no-page"],
)
def test_bad_input_gets_an_html_error_page(
    browser: Client, url: str, status: int, says: str
) -> None:
    answer = browser.http.get(url)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text and "Back to the open leads" in answer.text


def test_lead_fields_are_escaped(browser: Client, hostile_lead: str) -> None:
    lead = browser.http.get(f"/app/leads/{hostile_lead}")
    listed = browser.http.get("/app", params={"limit": 1000})
    for page in [lead, listed]:
        assert page.status_code == 200
        assert HOSTILE not in page.text
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page.text
    assert "script-src" not in lead.headers["content-security-policy"]
    assert "default-src 'none'" in lead.headers["content-security-policy"]
