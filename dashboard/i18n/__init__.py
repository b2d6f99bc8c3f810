"""The i18n catalogue: every string a person sees, in zh-CN (default) and en."""

from dashboard.i18n.catalogue import CATALOGUE, DEFAULT_LOCALE, LOCALES, translator

__all__ = ["CATALOGUE", "DEFAULT_LOCALE", "LOCALES", "translator"]
