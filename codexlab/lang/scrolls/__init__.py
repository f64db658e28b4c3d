"""Scrolls: build canonical text from statements, keep named scrolls in a library, inject statements."""

from __future__ import annotations

from .builder import build_scroll, codex_scroll_builder
from .injector import codex_scroll_injector, inject, label_of
from .library import ScrollLibrary, codex_scroll_library, default_user_dir

__all__ = [
    "build_scroll",
    "inject",
    "label_of",
    "ScrollLibrary",
    "default_user_dir",
    "codex_scroll_builder",
    "codex_scroll_injector",
    "codex_scroll_library",
]
