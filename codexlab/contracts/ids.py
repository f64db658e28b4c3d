"""Ids made from user text: container ids are any printable text; ids built from them escape it.

A container id (`--container "my lab"`, `@container`, `lab.run(container=...)`) may hold spaces, `/`,
`:` or any other printable character. Ids that embed user text in a fixed shape (a beam id's cell part,
an eid's run part) percent-encode the characters that shape reserves, so they always validate and the
original text comes back with `unescape_part`.
"""

from __future__ import annotations

from urllib.parse import unquote

from codexlab.errors import CodexValueError

__all__ = [
    "CONTAINER_SOURCE_PATTERN",
    "check_container_id",
    "eid_for",
    "escape_part",
    "is_printable_id",
    "run_of_eid",
    "unescape_part",
]

#: The JSON Schema pattern of a QFC envelope's `source` (`container::<id>`); printability is checked in code.
CONTAINER_SOURCE_PATTERN = r"^container::.+$"

# Escaped: `%` (the escape itself), `:` (separates eid parts), whitespace and unprintable characters
# (they break the `\S+` id shapes). Everything else, non-ASCII letters included, stays as written.
_RESERVED = frozenset("%:")


def is_printable_id(text: object) -> bool:
    """Whether `text` is a non-empty string of printable characters (spaces allowed; no control
    characters, line breaks, tabs or unassigned code points)."""
    return isinstance(text, str) and bool(text) and text.isprintable()


def check_container_id(container: object, *, what: str = "container") -> str:
    """`container` when it is a valid container id; else a `CodexValueError` saying what is wrong.

    Any non-empty printable text is valid (`my lab`, `a/b`, `α:β`); the checks run before anything of a
    cell is computed or stored, so a bad id never leaves half a run behind.
    """
    if not isinstance(container, str):
        raise CodexValueError(
            f"`{what}` should be text such as `my lab`, got a `{type(container).__name__}`; pass a string."
        )
    if not container:
        raise CodexValueError(f"`{what}` is empty; give the container a name such as `default_container`.")
    if not container.isprintable():
        bad = next(ch for ch in container if not ch.isprintable())
        raise CodexValueError(
            f"`{what}` {container!r} holds the unprintable character {bad!r}; container ids are printable "
            "text (spaces are fine), so remove line breaks, tabs and control characters."
        )
    return container


def escape_part(text: str) -> str:
    """`text` with `%`, `:`, whitespace and unprintable characters percent-encoded (UTF-8)."""
    return "".join(_escape_char(ch) for ch in text)


def _escape_char(ch: str) -> str:
    if ch in _RESERVED or ch.isspace() or not ch.isprintable():
        return "".join(f"%{byte:02X}" for byte in ch.encode("utf-8", "surrogatepass"))
    return ch


def unescape_part(text: str) -> str:
    """The original text of an `escape_part` result."""
    return unquote(text)


def eid_for(run_id: str, digest: str) -> str:
    """The entanglement id `eid::<run>::<digest>` of a pair in a run, the run part escaped."""
    return f"eid::{escape_part(run_id)}::{escape_part(digest)}"


def run_of_eid(eid: str) -> str:
    """The run an entanglement id belongs to (the inverse of `eid_for`'s run part)."""
    return unescape_part(eid.split("::")[1])
