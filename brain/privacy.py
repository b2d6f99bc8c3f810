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
