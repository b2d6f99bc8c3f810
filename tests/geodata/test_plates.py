"""Pole plates: the PDF opened, rendered and its QR codes decoded back to each pole's address on the
residents' page, eight plates to an A4 sheet; unknown poles refused with suggestions."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
import zxingcpp

from geodata.plates import PlateError, find_font, main, poles_of, render
from tests.conftest import missing


def _decoded(pdf: bytes) -> list[list[str]]:
    doc = pdfium.PdfDocument(pdf)
    pages = []
    for page in doc:
        w, h = page.get_size()
        assert (round(w / 72 * 25.4), round(h / 72 * 25.4)) == (210, 297)  # A4
        img = page.render(scale=200 / 72).to_pil()
        found = zxingcpp.read_barcodes(img)
        # reading order: top to bottom, left to right
        found.sort(key=lambda b: (round(b.position.top_left.y / 100), b.position.top_left.x))
        pages.append([b.text for b in found])
    return pages


def test_the_qr_codes_of_a_committees_plates_decode_to_each_poles_address(gazetteer):
    if find_font() is None:
        missing("a CJK font (fonts-wqy-zenhei) for the Chinese plates")
    committee = gazetteer.lookup("0412").committee
    poles = poles_of(gazetteer, committee=committee)
    pdf = render(poles, base_url="https://brain.example.gov.cn/", hotline="12345")
    pages = _decoded(pdf)
    assert len(pages) == (len(poles) + 7) // 8 and all(len(p) == 8 for p in pages[:-1])
    decoded = [url for page in pages for url in page]
    assert decoded == [f"https://brain.example.gov.cn/r/{p.number}" for p in poles]


def test_plates_in_english_need_no_cjk_font_and_name_the_poles_asked_for(gazetteer, tmp_path):
    out = tmp_path / "plates.pdf"
    assert main(["--poles", "0412, 0413", "--out", str(out), "--lang", "en", "--base-url", "http://h:8050"]) == 0
    assert _decoded(out.read_bytes()) == [["http://h:8050/r/0412", "http://h:8050/r/0413"]]
    text = pdfium.PdfDocument(out.read_bytes())[0].get_textpage().get_text_range()
    assert "0412" in text and "Scan to report" in text and "Hotline 12345" in text


def test_an_unknown_pole_is_refused_with_suggestions_and_no_file(gazetteer, tmp_path):
    with pytest.raises(PlateError, match=r"0412x.*0412"):
        poles_of(gazetteer, numbers=["0412x"])
    out = tmp_path / "none.pdf"
    assert main(["--poles", "0412x", "--out", str(out)]) == 2 and not out.exists()
    with pytest.raises(PlateError, match="no poles"):
        poles_of(gazetteer, committee="NOPE")
