"""Tables to CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese) and XLSX."""

from __future__ import annotations

import csv
import io
import re

from openpyxl import Workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _safe(v):
    """A cell value that a spreadsheet will not run as a formula."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r))
    return list(seen)


def _cell(v):
    """A whole number as an integer (29, not 29.0); anything else as it is, made safe."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return _safe(v)


def to_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    _write(csv.writer(buf), rows)
    return buf.getvalue().encode("utf-8-sig")


def _write(w, rows: list[dict], header: list[str] | None = None) -> None:
    cols = header or columns(rows)
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else _cell(r.get(c)) for c in cols])


def tables_to_csv(tables: dict[str, list[dict]]) -> bytes:
    """Several tables in one CSV: each under a line with its name, a blank line between them."""
    buf = io.StringIO()
    w = csv.writer(buf)
    for i, (name, rows) in enumerate(tables.items()):
        if i:
            w.writerow([])
        w.writerow([_safe(name)])
        _write(w, rows)
    return buf.getvalue().encode("utf-8-sig")


def rows_to_csv(rows: list[dict], header: list[str] | None = None) -> bytes:
    """One table as CSV (UTF-8 with a byte-order mark, as spreadsheets on the desks expect); `header`: its
    columns, written even when there is no row."""
    buf = io.StringIO()
    _write(csv.writer(buf), rows, header)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(tables: dict[str, list[dict]]) -> bytes:
    """One sheet per table, named after it (cut to the 31 characters a sheet name may have)."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, rows in tables.items():
        title = _SHEET_BAD.sub("_", name)[:31] or "sheet"
        while title in used:
            title = title[:29] + f"_{len(used)}"
        used.add(title)
        ws = wb.create_sheet(title)
        cols = columns(rows)
        ws.append(cols)
        for r in rows:
            ws.append([_cell(r.get(c)) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
