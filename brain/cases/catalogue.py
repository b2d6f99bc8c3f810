"""The case categories (GB/T 30428 component and event classes) and the department that owns each.

Shipped as `categories.json`; a deployment may point `BRAIN_CATEGORIES` at its own edited copy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from brain.cases.enums import Priority

DEFAULT_FILE = Path(__file__).resolve().parent / "categories.json"


@dataclass(frozen=True)
class Category:
    code: str  # C/E + 2-digit class + 2-digit subclass
    name: str
    name_en: str
    department: str
    priority: Priority
    public: bool = True  # residents and other systems may report it (not: sensor-only, about one home)

    @property
    def kind(self) -> str:
        return "component" if self.code.startswith("C") else "event"


class Catalogue:
    """Category lookup and the duty test: does a team's duty list cover a category?"""

    def __init__(self, categories: list[Category]) -> None:
        self._by_code = {c.code: c for c in categories}

    @classmethod
    def load(cls, path: Path | str = DEFAULT_FILE) -> Catalogue:
        """Read a categories file; a bad row is refused with the file, the row and what is wrong."""
        try:
            rows = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"{path}: cannot read the categories ({e})") from None
        out: list[Category] = []
        for i, r in enumerate(rows if isinstance(rows, list) else [], 1):
            try:
                code = str(r["code"])
                if not re.fullmatch(r"[CE]\d{4}", code):
                    raise ValueError(f"code {code!r} is not C/E + 4 digits")
                if any(c.code == code for c in out):
                    raise ValueError(f"code {code} appears twice")
                out.append(Category(code=code, name=str(r["name"]), name_en=str(r.get("name_en") or r["name"]),
                                    department=str(r["department"]), priority=Priority(r.get("priority", "normal")),
                                    public=bool(r.get("public", True))))
            except (KeyError, TypeError, ValueError) as e:
                raise ValueError(f"{path}: category #{i}: {e}") from None
        if not out:
            raise ValueError(f"{path}: no categories (expected a JSON list of objects)")
        return cls(out)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self):
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)

    def get(self, code: str) -> Category:
        """The category with this code; KeyError (with the code) if there is none."""
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(code) from None

    @staticmethod
    def covers(duties: list[str], category_code: str) -> bool:
        """Whether a duty list (class prefixes like ``E05`` or full codes) covers a category code."""
        return any(category_code.startswith(d) for d in duties)
