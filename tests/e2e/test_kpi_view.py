"""The leaders' screen, driven as a leader would: figures, drill-down to cases and a timeline, export,
the handover report; nothing fetched from another host."""

import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from brain.events import audit
from brain.kpi.service import window
from brain.sim.history import HistoryGenerator, write
from brain.storage.db import utcnow
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def history(live_app):
    brain = live_app.brain
    now = utcnow()
    gen = HistoryGenerator(brain.district, brain.catalogue, brain.policy, seed=11)
    # two weeks: the screen's week and the week before it, to compare with
    write(brain.db, gen, start=now - timedelta(days=14), end=now, now=now, per_day=60)
    return brain.kpi.figures(brain.kpi.frame(window("7d", now=now, tz="Asia/Shanghai")), now)


def _leader(anonymous, live_app):
    sign_in(anonymous.page, live_app, "leader")
    anonymous.page.goto(live_app.url + "/kpi")
    anonymous.page.wait_for_selector(".kpi-table td", timeout=30_000)
    return anonymous.page


def test_the_figures_on_screen_are_the_service_figures_with_definitions(anonymous, live_app, history):
    page = _leader(anonymous, live_app)
    tile = page.locator(".kpi-tile", has_text="上报数").first
    assert tile.locator(".value").inner_text().startswith(f"{int(history['reported'].value):,}")
    closure = page.locator(".kpi-tile", has_text="按期结案率").first
    f = history["on_time_closure_rate"]
    assert closure.locator(".fraction").inner_text() == f"{int(f.numerator):,} / {int(f.denominator):,}"
    assert "应结案数" in closure.get_attribute("title")  # the definition, on hover
    assert page.locator(".kpi-table tbody tr").count() == 16  # every committee ranked
    # beside each figure: the stretch before (环比) and a year before (同比); a mean with its median and p90
    compare = tile.locator(".compare").inner_text()
    assert "环比" in compare and "同比" in compare and "%" in compare
    assert "个百分点" in closure.locator(".compare").inner_text()
    assert "中位数" in page.locator(".kpi-tile", has_text="平均响应时间").first.locator(".spread").inner_text()
    legend = page.locator(".kpi-legend").inner_text()
    assert "按期结案率: 绿 ≥ 90% · 黄 ≥ 80%" in legend and "返工率: 绿 ≤ 5% · 黄 ≤ 10%" in legend
    assert page.locator(".kpi-table td.grade-green, .kpi-table td.grade-amber, .kpi-table td.grade-red").count() > 0
    page.screenshot(path="/tmp/shots/kpi-compare.png")
    assert anonymous.foreign() == [] and anonymous.errors == []


def test_a_figure_drills_down_to_its_cases_and_on_to_a_timeline(anonymous, live_app, history):
    page = _leader(anonymous, live_app)
    page.locator(".kpi-tile", has_text="返工率").first.locator("button.value").click()
    page.wait_for_selector("#kpi-drill table", timeout=10_000)
    n = int(history["rework_rate"].numerator)
    assert page.locator("#kpi-drill h4").inner_text().endswith(f"· {n}")
    assert page.locator("#kpi-drill tbody tr").count() == min(n, 200)
    page.locator("#kpi-drill tbody button").first.click()
    page.wait_for_selector("#kpi-timeline li", timeout=10_000)
    steps = page.inner_text("#kpi-timeline")
    assert "整改不到位" in steps  # the failed verification that made it a rework
    # a cell of the ranking: that committee's cases only
    cell = page.locator(".kpi-table tbody tr").first.locator("td").nth(2).locator("button")
    reported = int(cell.inner_text().replace(",", ""))
    cell.click()
    page.wait_for_function("(n) => document.querySelector('#kpi-drill h4') && "
                           "document.querySelector('#kpi-drill h4').innerText.endsWith('· ' + n)", arg=reported,
                           timeout=10_000)
    assert anonymous.errors == []


def test_export_gives_the_ranking_as_csv_and_xlsx_and_is_audited(anonymous, live_app, history):
    page = _leader(anonymous, live_app)
    with page.expect_download() as dl:
        page.click("#kpi-export-csv")
    raw = open(dl.value.path(), "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheet programs read the Chinese
    sections = raw.decode("utf-8-sig").split("\r\n\r\n")  # every table under its name: ranking, then figures
    assert len(sections) >= 2 and sections[0].startswith("排名-居委会") and sections[1].startswith("考核指标")
    rows = list(csv.DictReader(io.StringIO(sections[0].split("\r\n", 1)[1])))
    assert len(rows) == 16 and rows[0]["名次"] == "1" and rows[0]["代码"]
    assert sum(int(r["上报数"]) for r in rows) == history["reported"].value  # whole numbers as integers
    assert "平均响应时间 (分钟)" in rows[0] and "按期结案率 (%)" in rows[0]  # the unit in the header
    assert not any(k in rows[0] for k in ("reporter_name", "reporter_phone", "电话"))
    figures = list(csv.DictReader(io.StringIO(sections[1].split("\r\n", 1)[1])))
    assert figures[0]["统计区间"] and int(figures[0]["上报数"]) == history["reported"].value
    with page.expect_download() as dl:
        page.click("#kpi-export-xlsx")
    assert dl.value.suggested_filename.endswith(".xlsx")
    wb = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read()))
    assert len(wb.sheetnames) >= 2 and wb[wb.sheetnames[0]].max_row == 17
    exports = audit.query(live_app.brain.db, action="kpi.export", limit=10)
    assert {e["detail"]["format"] for e in exports} >= {"csv", "xlsx"} and exports[0]["actor"] == "person:e2e-leader"


def test_the_handover_report_is_for_leaders_and_prints_without_script(anonymous, live_app, history):
    page = anonymous.page
    late = live_app.brain.cases.open_case(channel="wechat", category="E0101", pole="0005", actor="e2e",
                                          at=utcnow() - timedelta(days=2))  # overdue: it opens the replay
    sign_in(page, live_app, "leader")
    page.goto(live_app.url + "/report/daily")
    page.wait_for_selector(".report h1")
    assert "交班日报" in page.inner_text(".report h1")
    assert page.locator("script").count() == 0
    assert page.locator(".report-table").count() >= 2
    jump = page.locator(f".report-table a:text-is('#{late.id}')")
    assert jump.count() == 1 and jump.get_attribute("href").startswith("/replay?at=")
    assert anonymous.foreign() == []


def test_the_wall_account_may_not_read_the_kpi_or_the_report(anonymous, live_app):
    page = anonymous.page
    sign_in(page, live_app, "wall")
    r = page.goto(live_app.url + "/report/daily")
    assert r.status == 403
    page.goto(live_app.url + "/kpi")
    page.wait_for_selector(".forbidden", timeout=10_000)


def test_the_wall_variant_hides_the_controls_and_rotates_the_breakdown(anonymous, live_app, history):
    sign_in(anonymous.page, live_app, "leader")
    page = anonymous.page
    page.goto(live_app.url + "/kpi?rotate=1")
    page.wait_for_selector(".kpi-wall .kpi-table td", timeout=30_000)
    assert not page.locator(".kpi-controls").is_visible()
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.wait_for_timeout(500)
    # made for a 1920×1080 wall: the ten headline tiles in one row, no figure broken over two lines, the whole
    # ranking above the fold
    layout = page.evaluate("""() => {
        const tiles = [...document.querySelectorAll('.kpi-tiles .kpi-tile')];
        const tops = tiles.map(t => Math.round(t.getBoundingClientRect().top));
        const values = tiles.map(t => t.querySelector('.value')).map(v => v.getBoundingClientRect().height /
            parseFloat(getComputedStyle(v).fontSize));
        const rows = [...document.querySelectorAll('.kpi-table tbody tr')];
        return {tops: [...new Set(tops)], values, last: rows[rows.length - 1].getBoundingClientRect().bottom,
                height: window.innerHeight, rows: rows.length};
    }""")
    assert len(layout["tops"]) == 1 and max(layout["values"]) < 1.8, layout
    assert layout["rows"] == 16 and layout["last"] <= layout["height"], layout
    page.screenshot(path="/tmp/shots/kpi-rotate-test.png")
    first = page.inner_text(".kpi-table-wrap h3")
    page.wait_for_function("(t) => document.querySelector('.kpi-table-wrap h3').innerText !== t", arg=first,
                           timeout=25_000)
    assert "部门" in page.inner_text(".kpi-table-wrap h3")
