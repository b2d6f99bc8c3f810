"""Masking of residents' personal data: names, phone numbers, exact addresses, vital signs.

Views and the API show masked values by default; unmasking is an explicit action that is logged.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d")


def mask_name(name: str | None) -> str | None:
    """Keep the family name: 王秀英 -> 王**; Latin names keep their first letter."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 13812345678 -> 138****5678."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_address(address: str | None) -> str | None:
    """Hide the room and floor: 安澜小区3号楼1502室 -> 安澜小区3号楼****室 (building kept for dispatch)."""
    if not address:
        return address
    m = re.search(r"(号楼|幢|栋)", address)
    if m:
        head, tail = address[: m.end()], address[m.end():]
        return head + _DIGITS.sub("*", tail)
    return _DIGITS.sub("*", address)


PERSONAL_FIELDS = ("occupant", "phone", "address", "age")


def mask_place(place: dict) -> dict:
    """A place record with its personal fields masked (a copy)."""
    out = dict(place)
    out["occupant"] = mask_name(place.get("occupant"))
    out["phone"] = mask_phone(place.get("phone"))
    if place.get("kind") == "home":
        out["address"] = mask_address(place.get("address"))
        out["name"] = mask_address(place.get("name"))
        out["age"] = None if place.get("age") is None else f"{(int(place['age']) // 10) * 10}+"
    out["masked"] = True
    return out


# Personal data in free text (a call-taker's description, a note): what is masked for a role that may not
# read it. Digits are matched only where no other digit touches them, so a case number or a pole number
# inside a longer figure is left alone.
_TEXT_PATTERNS = (
    re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])"),  # a resident identity card number (18 characters)
    re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)"),  # a mobile number
    re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)"),  # a landline with its area code
    re.compile(r"(?<![\dA-Za-z])\d{7,8}(?!\d)"),  # a landline without it
    # a vehicle plate: the province's character, the city's letter, five or six letters and digits
    re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z]·?[A-HJ-NP-Z0-9]{5,6}"),
    re.compile(r"(?:(?<=号楼)|(?<=[栋幢座]))\s*\d{1,2}[-\s]?\d{2}\s*(?:室|号|房)?"),  # the room after the building
    re.compile(r"\d{1,2}[-\s]?\d{2}\s*(?:室|房)"),  # a room number: 1502室
)


class TextMasker:
    """Masks personal data in free text: identity card, mobile, landline and plate numbers, room numbers
    and the names of residents the district knows (each replaced by its masked form: 王秀英 -> 王**).
    Built once with the names; thread-safe (it keeps nothing but its patterns)."""

    def __init__(self, names: list[str] | tuple[str, ...] = ()) -> None:
        known = sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len, reverse=True)
        self._names = re.compile("|".join(map(re.escape, known))) if known else None

    def mask(self, text: str | None) -> str:
        """The text with every piece of personal data in it masked ('' for None)."""
        if not text:
            return text or ""
        out = text
        for pattern in _TEXT_PATTERNS:
            out = pattern.sub(lambda m: re.sub(r"[0-9A-Za-z]", "*", m.group(0)), out)
        if self._names is not None:
            out = self._names.sub(lambda m: mask_name(m.group(0)) or "", out)
        return out
