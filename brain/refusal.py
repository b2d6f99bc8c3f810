"""A refusal a person reads: the domain says why in English for logs and the API, and names the catalogue
entry (`key`, with its `params`) from which the screens say it in the reader's language."""

from __future__ import annotations


class Refusal(ValueError):
    """Raised with an English message, a catalogue key and the values the key's text is filled with."""

    def __init__(self, message: str, *, key: str | None = None, **params) -> None:
        super().__init__(message)
        self.key = key
        self.params = params
