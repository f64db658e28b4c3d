"""The scroll library (plan name `codex_scroll_library`): named `.codex` files in a few folders."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ...errors import CodexNameError, CodexValueError, did_you_mean
from .. import ast
from ..parser import parse
from ..printer import to_text

__all__ = ["ScrollLibrary", "default_user_dir", "SAMPLES_DIR", "SUFFIX", "codex_scroll_library"]

SUFFIX = ".codex"
#: The sample scrolls of a source checkout (`<repo>/data/scrolls`); skipped when it does not exist.
SAMPLES_DIR = Path(__file__).resolve().parents[3] / "data" / "scrolls"
_NAME = re.compile(r"\w[\w.-]*")


def default_user_dir() -> Path:
    """`$CODEXLAB_HOME/scrolls` when CODEXLAB_HOME is set, else `~/.codexlab/scrolls`."""
    home = os.environ.get("CODEXLAB_HOME")
    return (Path(home) if home else Path.home() / ".codexlab") / "scrolls"


class ScrollLibrary:
    """Scrolls by name across folders; a later folder overrides an earlier one, saves go to the user folder.

    Args:
        paths: folders to search, in order. Default: the repository's samples, then the user folder.
        user_dir: where `save` writes (default `default_user_dir()`); searched last if not in `paths`.
    """

    def __init__(self, paths: Sequence[str | Path] | None = None, *, user_dir: str | Path | None = None) -> None:
        self.user_dir = Path(user_dir) if user_dir is not None else default_user_dir()
        folders = [Path(p) for p in paths] if paths is not None else [SAMPLES_DIR]
        if self.user_dir not in folders:
            folders.append(self.user_dir)
        self.paths: tuple[Path, ...] = tuple(folders)

    def __repr__(self) -> str:
        return f"ScrollLibrary(paths={[str(p) for p in self.paths]!r}, user_dir={str(self.user_dir)!r})"

    def _files(self) -> dict[str, Path]:
        """Name → file, later folders overriding earlier ones."""
        found: dict[str, Path] = {}
        for folder in self.paths:
            if folder.is_dir():
                for file in sorted(folder.glob(f"*{SUFFIX}")):
                    if file.is_file():
                        found[file.name[: -len(SUFFIX)]] = file
        return found

    def list(self) -> list[str]:
        """The names of all scrolls, sorted."""
        return sorted(self._files())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._files()

    def path(self, name: str) -> Path:
        """The file a name resolves to.

        Raises:
            CodexNameError: no scroll has that name (with a did-you-mean and the fix).
        """
        files = self._files()
        if name not in files:
            known = sorted(files)
            raise CodexNameError(
                f"no scroll named `{name}` in the library{did_you_mean(name, known)}; "
                f"`ScrollLibrary.list()` shows the {len(known)} available"
            )
        return files[name]

    def source(self, name: str) -> str:
        """The text of a scroll, as written."""
        return self.path(name).read_text(encoding="utf-8")

    def load(self, name: str) -> ast.Scroll:
        """The parsed scroll.

        Raises:
            CodexNameError: no scroll has that name.
            CodexSyntaxError: the file does not parse.
        """
        return parse(self.source(name))

    def save(self, name: str, scroll: ast.Scroll | str, overwrite: bool = False) -> Path:
        """Write a scroll into the user folder after checking that it parses; returns the file.

        Text is kept as written (comments included); a `Scroll` is printed canonically.

        Raises:
            CodexValueError: the name is not a plain file name, or the scroll exists and not `overwrite`.
            CodexSyntaxError: the text does not parse.
        """
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.endswith("."):
            raise CodexValueError(
                f"`{name}` is not a valid scroll name; use letters, digits, `_`, `-` and "
                "`.`, without folders or the `.codex` suffix"
            )
        if isinstance(scroll, str):
            parse(scroll)
            text = scroll
        else:
            text = to_text(scroll)
            if parse(text) != scroll:
                raise CodexValueError(
                    f"scroll `{name}` does not read back as the same AST; build it with "
                    "operator nodes rather than glyph calls of the same arity"
                )
        target = self.user_dir / f"{name}{SUFFIX}"
        if target.exists() and not overwrite:
            raise CodexValueError(f"scroll `{name}` already exists at `{target}`; pass `overwrite=True` to replace it")
        self.user_dir.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.user_dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return target


codex_scroll_library = ScrollLibrary
