"""Sheets: the cells of a `.codex` file marked `# %% <cell id>` (jupytext's percent format), or the
`%%codex` cells of a notebook, each with an id, its code and where it starts in its file."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ..errors import CodexValueError
from ..lang.source import read_source

__all__ = ["Cell", "Sheet", "parse_sheet", "load_sheet", "as_sheet", "CELL_ID"]

#: What a cell id may hold: it becomes part of beam ids (`beam_<cell>_<stage>_…`), so one word.
CELL_ID = re.compile(r"^[A-Za-z0-9_.\-]+$")
_MARKER = re.compile(r"^\s*#\s*%%(?P<rest>.*)$")
_KIND = re.compile(r"\[(?P<kind>[A-Za-z]+)\]")
_META = re.compile(r"\s\w+=.*$")


@dataclass(frozen=True)
class Cell:
    """One cell: its id, its CodexLang code, the file line its code starts on, and notebook options."""

    id: str
    code: str
    #: 1-based line of the cell's first code line in its `.codex` file (None for notebook and dict cells).
    line: int | None = None
    #: The container a notebook cell's `-c NAME` names, if any.
    container: str | None = None
    #: Whether a notebook cell asked for `--precisions` (every grid op profiled in every format).
    profile: bool = False

    @property
    def where(self) -> str:
        """`` `id` (line N)`` for messages (just `` `id` `` when the cell has no file line)."""
        return f"`{self.id}`" + (f" (line {self.line})" if self.line is not None else "")

    def file_line(self, line: int | None) -> int | None:
        """The file line of line `line` of the cell's code (None when either is unknown)."""
        return None if line is None or self.line is None else self.line + line - 1


@dataclass(frozen=True)
class Sheet:
    """Cells in file order, with the sheet's name (the file stem) and path when it came from a file."""

    cells: tuple[Cell, ...]
    name: str = "sheet"
    path: Path | None = None

    def __post_init__(self) -> None:
        seen: dict[str, Cell] = {}
        for cell in self.cells:
            if not CELL_ID.match(cell.id):
                raise CodexValueError(
                    f"{cell.where} is not a cell id: use one word of letters, digits, `_`, `.` or `-`, e.g. "
                    f"`# %% {_slug(cell.id)}`."
                )
            if cell.id in seen:
                raise CodexValueError(
                    f"Two cells are called `{cell.id}` ({seen[cell.id].where} and {cell.where}); give each cell its "
                    "own id."
                )
            seen[cell.id] = cell
        if not self.cells:
            raise CodexValueError(f"The sheet `{self.name}` has no code cells; write cells as `# %% <id>` sections.")

    def __getitem__(self, cell_id: str) -> Cell:
        for cell in self.cells:
            if cell.id == cell_id:
                return cell
        raise KeyError(cell_id)

    @property
    def ids(self) -> list[str]:
        """The cell ids in file order."""
        return [c.id for c in self.cells]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", text.strip()).strip("_") or "cell"


def _has_code(lines: list[str]) -> bool:
    return any(s.strip() and not s.lstrip().startswith("#") for s in lines)


def parse_sheet(text: str, name: str = "sheet", path: Path | None = None) -> Sheet:
    """Split CodexLang text into cells at `# %% <id>` lines (a file without them is one cell `cell_1`).

    A marker's title is the cell id (`cell_<k>` when it has none, k counting code cells from 1); cells
    typed `[markdown]` or `[raw]` are skipped, as jupytext does; text before the first marker is a cell
    when it holds code. Raises `CodexValueError` for a title that is not one word or a repeated id.
    """
    # (title, first line, lines, whether it is a code cell) per section; text before a marker is one too
    sections: list[tuple[str, int, list[str], bool]] = [("", 1, [], True)]
    for number, line in enumerate(text.splitlines(), 1):
        marker = _MARKER.match(line)
        if marker is None:
            sections[-1][2].append(line)
            continue
        rest = marker["rest"]
        kind = _KIND.search(rest)
        is_code = kind is None or kind["kind"].lower() not in ("markdown", "md", "raw")
        sections.append((_META.sub("", _KIND.sub("", rest)).strip(), number + 1, [], is_code))
    cells: list[Cell] = []
    for title, start, lines, is_code in sections:
        if not is_code or not _has_code(lines):
            continue
        cid = title or f"cell_{len(cells) + 1}"
        cells.append(Cell(cid, "\n".join(lines).strip("\n") + "\n", start + _leading_blank(lines)))
    return Sheet(tuple(cells), name=name, path=path)


def _leading_blank(lines: list[str]) -> int:
    count = 0
    for line in lines:
        if line.strip():
            break
        count += 1
    return count


class _MagicArgs(argparse.ArgumentParser):
    """The options of a `%%codex` line, raising `CodexValueError` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise CodexValueError(f"%%codex: {message}")


def _magic_parser() -> _MagicArgs:
    parser = _MagicArgs(prog="%%codex", add_help=False)
    parser.add_argument("-c", "--container", default=None)
    parser.add_argument("--precision", default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--precisions", action="store_true")
    # Display options of the magic: they change what a notebook shows, never a value.
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--no-hud", action="store_true")
    parser.add_argument("--json", action="store_true")
    return parser


def _notebook_cells(data: Mapping[str, object], where: str) -> list[Cell]:
    cells: list[Cell] = []
    raw_cells = data.get("cells")
    if not isinstance(raw_cells, list):
        raise CodexValueError(f"`{where}` is not a notebook (no `cells` list); save it from Jupyter as .ipynb.")
    parser = _magic_parser()
    for index, raw in enumerate(raw_cells, 1):
        if not isinstance(raw, dict) or raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        head, _, body = text.partition("\n")
        if not head.startswith("%%codex"):
            continue
        args = parser.parse_args(head.removeprefix("%%codex").split())
        directives = [f"@precision {args.precision}"] * (args.precision is not None)
        directives += [f"@seed {args.seed}"] * (args.seed is not None)
        cid = raw.get("id") if isinstance(raw.get("id"), str) else None
        code = "\n".join([*directives, body])
        cells.append(Cell(cid or f"cell_{index}", code, None, args.container, args.precisions))
    return cells


def load_sheet(path: str | os.PathLike[str]) -> Sheet:
    """A sheet from a `.codex` file (percent-format cells) or a notebook's `%%codex` cells (`.ipynb`)."""
    file = Path(path)
    if not file.is_file():
        raise CodexValueError(f"`{file}` is not a file; pass a `.codex` sheet or a `.ipynb` notebook.")
    text = read_source(file)
    if file.suffix == ".ipynb":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise CodexValueError(f"`{file}` is not valid notebook JSON ({err}); save it again from Jupyter.") from err
        return Sheet(tuple(_notebook_cells(data, str(file))), name=file.stem, path=file)
    return parse_sheet(text, name=file.stem, path=file)


def as_sheet(source: Sheet | str | os.PathLike[str] | Mapping[str, str]) -> Sheet:
    """A `Sheet` from a Sheet, a path (`Path`, or a one-line str ending in `.codex`/`.ipynb`), a mapping
    of cell id → code, or sheet text."""
    if isinstance(source, Sheet):
        return source
    if isinstance(source, Mapping):
        return Sheet(tuple(Cell(str(k), str(v)) for k, v in source.items()))
    if isinstance(source, os.PathLike):
        return load_sheet(source)
    if isinstance(source, str):
        if "\n" not in source and Path(source).suffix in (".codex", ".ipynb"):
            return load_sheet(source)
        return parse_sheet(source)
    raise CodexValueError(
        f"A sheet is a `.codex`/`.ipynb` path, sheet text or a dict of cell id → code, not `{type(source).__name__}`."
    )
