"""Reading scroll files: UTF-8 text, or one sentence that names the file and the first bad byte."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CodexValueError

__all__ = ["read_source"]


def read_source(path: str | os.PathLike[str]) -> str:
    """The text of a scroll or sheet file; `CodexValueError` (with the line) when it is not valid UTF-8."""
    file = Path(path)
    data = file.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise CodexValueError(
            f"`{file}` is not valid UTF-8: byte {err.start} (0x{data[err.start]:02x}) cannot be decoded; "
            "save the file as UTF-8.",
            line=line,
            column=column,
        ) from None
