"""HTML built safely: every value is escaped unless it is already :class:`Markup`.

Pages are ``str.format`` templates shipped in ``templates/`` (``{name}`` placeholders; a
literal brace is written twice). :func:`html` fills a template or an inline fragment with
escaped values, so text from the store (a lead's fields, its reasons) can never become markup.
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable
from functools import cache
from importlib.resources import files
from typing import Final

__all__ = ["Markup", "escape", "html", "join", "page_template"]

_TEMPLATES: Final = files("leadscore.service.web") / "templates"


class Markup(str):
    """Text that is HTML already: inserted as is."""

    __slots__ = ()


def escape(value: object) -> Markup:
    """``value`` as HTML text (None as empty); :class:`Markup` unchanged."""
    if isinstance(value, Markup):
        return value
    return Markup(_html.escape("" if value is None else str(value), quote=True))


def html(template: str, /, **values: object) -> Markup:
    """``template`` with each ``{name}`` replaced by the escaped value."""
    return Markup(template.format(**{name: escape(value) for name, value in values.items()}))


def join(parts: Iterable[object], separator: str = "\n") -> Markup:
    """Fragments (escaped unless markup) one after the other."""
    return Markup(separator.join(escape(part) for part in parts))


@cache
def page_template(name: str) -> str:
    """The text of ``templates/<name>``."""
    return (_TEMPLATES / name).read_text(encoding="utf-8")
