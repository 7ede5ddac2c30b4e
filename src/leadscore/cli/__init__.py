"""The ``leadscore`` command line: a thin layer that parses, calls the library and renders."""

from __future__ import annotations

from leadscore.cli._app import app

__all__ = ["app"]
