"""Pole plates: a printable PDF of the plates fixed to poles, on A4 label sheets (2 × 4 labels of
99.1 × 67.7 mm, the common L7165 layout). Each plate carries the pole's number in large type, a QR code of
its address on the residents' page (`{public base url}/r/{number}`), the words "scan to report" and the
hotline number.

    python -m geodata.plates --poles 0412,0413 --out plates.pdf
    python -m geodata.plates --committee C03 --out c03.pdf [--base-url https://brain.example.gov.cn]
                             [--hotline 12345] [--lang zh-CN|en] [--font /path/to/cjk.ttf]

Settings come from the environment as the app reads them (BRAIN_PUBLIC_BASE_URL, BRAIN_HOTLINE,
BRAIN_DISTRICT_DIR). Chinese text needs a CJK font on this machine (fonts-wqy-zenhei or Noto CJK are found;
--font or BRAIN_PLATE_FONT names another): without one, ask for --lang en.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import segno
from fpdf import FPDF

from geodata.district import District
from geodata.gazetteer import Gazetteer, Pole, PoleNotFound

PAGE_W, PAGE_H = 210.0, 297.0
LABEL_W, LABEL_H = 99.1, 67.7
COLUMNS, ROWS = 2, 4
LEFT, TOP, GAP_X = 4.65, 13.1, 2.5
QR_MM = 50.0
FONTS = ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
         "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/arphic/uming.ttc")
WORDS = {"zh-CN": ("扫码报事", "热线 {hotline}", "电杆 {number}"), "en": ("Scan to report", "Hotline {hotline}",
                                                                       "Pole {number}")}


class PlateError(ValueError):
    """Plates that cannot be made, with the reason."""


def plate_url(base_url: str, number: str) -> str:
    return f"{base_url.rstrip('/')}/r/{quote(number, safe='')}"


def find_font(explicit: str | None = None) -> Path | None:
    for candidate in (explicit, os.environ.get("BRAIN_PLATE_FONT"), *FONTS):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def poles_of(gazetteer: Gazetteer, *, numbers: Sequence[str] = (), committee: str | None = None) -> list[Pole]:
    """The poles named (as read off them; PlateError listing every unknown one with suggestions), or every
    pole of a committee, in number order."""
    if committee:
        district = gazetteer.district
        found = [gazetteer.lookup(str(n)) for n in district.poles.loc[district.poles["committee"] == committee,
                                                                     "number"]]
        if not found:
            raise PlateError(f"committee {committee} has no poles (or no such committee)")
        return sorted(found, key=lambda p: p.number)
    out, missing = [], []
    for n in numbers:
        try:
            out.append(gazetteer.lookup(n))
        except PoleNotFound as e:
            missing.append(f"{n} (close: {', '.join(e.suggestions) or '-'})")
    if missing:
        raise PlateError("no such pole: " + "; ".join(missing))
    if not out:
        raise PlateError("give pole numbers or a committee")
    return out


def render(poles: Sequence[Pole], *, base_url: str, hotline: str, lang: str = "zh-CN",
           font: Path | None = None) -> bytes:
    """The PDF of the plates of `poles`, eight to an A4 sheet."""
    if lang not in WORDS:
        raise PlateError(f"lang is one of {', '.join(WORDS)}")
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # it tells of every table it leaves out of the subset
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creator("Community Brain")
    pdf.set_title("Pole plates")
    if lang != "en":
        font = font or find_font()
        if font is None:
            raise PlateError("no CJK font found for Chinese text: install fonts-wqy-zenhei, pass --font, or use "
                             "--lang en")
        pdf.add_font("cjk", fname=str(font))
        family = "cjk"
    else:
        family = "helvetica"
    scan, line, _name = WORDS[lang]
    per_page = COLUMNS * ROWS
    for i, pole in enumerate(poles):
        if i % per_page == 0:
            pdf.add_page()
        col, row = (i % per_page) % COLUMNS, (i % per_page) // COLUMNS
        x, y = LEFT + col * (LABEL_W + GAP_X), TOP + row * LABEL_H
        _plate(pdf, pole, x, y, url=plate_url(base_url, pole.number), family=family, scan=scan,
               line=line.format(hotline=hotline))
    return bytes(pdf.output())


def _plate(pdf: FPDF, pole: Pole, x: float, y: float, *, url: str, family: str, scan: str, line: str) -> None:
    pdf.set_draw_color(11, 92, 173)
    pdf.set_line_width(0.6)
    pdf.rect(x + 1.5, y + 1.5, LABEL_W - 3, LABEL_H - 3, round_corners=True, corner_radius=3)
    # the QR code, drawn as squares (vector: sharp at any print size), with its quiet zone of four modules
    qr = segno.make(url, error="m")
    matrix = [list(r) for r in qr.matrix]
    n = len(matrix)
    module = QR_MM / (n + 8)
    qx, qy = x + 5, y + (LABEL_H - QR_MM) / 2
    pdf.set_fill_color(0, 0, 0)
    for r, cells in enumerate(matrix):
        c = 0
        while c < n:
            if cells[c]:
                run = c
                while run < n and cells[run]:
                    run += 1
                pdf.rect(qx + (c + 4) * module, qy + (r + 4) * module, (run - c) * module, module, style="F")
                c = run
            else:
                c += 1
    tx, width = qx + QR_MM + 1, LABEL_W - QR_MM - 9
    number_size = 40 if len(pole.number) <= 4 else max(16, int(160 / len(pole.number)))
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("helvetica", style="B", size=number_size)
    pdf.set_xy(tx, y + 10)
    pdf.cell(width, number_size * 0.45, pole.number, align="C")
    pdf.set_font(family, size=14)
    pdf.set_xy(tx, y + 32)
    pdf.cell(width, 8, scan, align="C")
    pdf.set_font(family, size=12)
    pdf.set_xy(tx, y + 42)
    pdf.cell(width, 7, line, align="C")
    if pole.road:
        pdf.set_font(family if family == "cjk" else "helvetica", size=9)
        pdf.set_text_color(80, 80, 80)
        pdf.set_xy(tx, y + 51)
        pdf.cell(width, 6, pole.road if family == "cjk" else "", align="C")


def main(argv: list[str] | None = None) -> int:
    from brain.config import Settings

    settings = Settings.from_env()
    ap = argparse.ArgumentParser(prog="python -m geodata.plates", description="printable pole plates (PDF)")
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--poles", help="pole numbers, comma-separated (as read off the poles)")
    which.add_argument("--committee", help="every pole of this committee (its code)")
    ap.add_argument("--out", required=True, help="the PDF to write")
    ap.add_argument("--base-url", default=settings.public_base_url, help="where residents reach /r/")
    ap.add_argument("--hotline", default=settings.hotline)
    ap.add_argument("--lang", default="zh-CN", choices=sorted(WORDS))
    ap.add_argument("--font", help="a TTF/TTC font with Chinese glyphs")
    args = ap.parse_args(argv)
    gazetteer = Gazetteer(District.load(settings.district_dir))
    try:
        numbers = [n.strip() for n in (args.poles or "").split(",") if n.strip()]
        poles = poles_of(gazetteer, numbers=numbers, committee=args.committee)
        data = render(poles, base_url=args.base_url, hotline=args.hotline, lang=args.lang,
                      font=find_font(args.font) if args.font else None)
    except PlateError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_bytes(data)
    print(f"{len(poles)} plates on {(len(poles) + 7) // 8} page(s): {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
