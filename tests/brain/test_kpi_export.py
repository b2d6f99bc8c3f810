"""CSV and XLSX exports: readable Chinese, no formulas smuggled in, one sheet per table."""

import io

from openpyxl import load_workbook

from brain.kpi.export import to_csv, to_xlsx


def test_csv_has_a_bom_and_defuses_formula_cells():
    raw = to_csv([{"居委会": "宝泉居委会", "值": 1.5}, {"居委会": "=HYPERLINK(\"x\")", "值": None}])
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig").splitlines()
    assert text == ["居委会,值", "宝泉居委会,1.5", "\"'=HYPERLINK(\"\"x\"\")\","]


def test_xlsx_has_one_sheet_per_table_with_safe_names():
    data = to_xlsx({"排名-居委会": [{"a": 1}, {"a": "@cmd", "b": 2}], "明细/cases?": [], "排名-居委会 ": [{"x": 0}]})
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[:2] == ["排名-居委会", "明细_cases_"]
    ws = wb["排名-居委会"]
    assert [c.value for c in ws[1]] == ["a", "b"] and ws["A3"].value == "'@cmd" and ws["B3"].value == 2


def test_a_csv_of_several_tables_names_each_and_writes_whole_numbers_as_integers():
    import csv
    import io

    from brain.kpi.export import tables_to_csv

    raw = tables_to_csv({"排名": [{"上报数": 29.0, "率 (%)": 91.25}], "=明细": [{"案件": 7}]})
    text = raw.decode("utf-8-sig")
    first, second = text.split("\r\n\r\n")
    assert first.splitlines()[0] == "排名" and second.splitlines()[0] == "'=明细"  # a name is no formula either
    rows = list(csv.DictReader(io.StringIO(first.split("\r\n", 1)[1])))
    assert rows == [{"上报数": "29", "率 (%)": "91.25"}]
