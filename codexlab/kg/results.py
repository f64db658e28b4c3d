"""Query results for Python: terms as native values, rows as a polars frame, SPARQL errors located."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pyoxigraph import BlankNode, Literal, NamedNode

from codexlab.errors import CodexSyntaxError
from codexlab.kg.vocab import PREFIXES, XSD_NS

if TYPE_CHECKING:
    import polars as pl

__all__ = ["rows_frame", "sparql_syntax_error", "to_python"]

_SPARQL_POSITION = re.compile(r"at (\d+):(\d+)")

_INTEGER_TYPES = (
    "integer",
    "int",
    "long",
    "short",
    "byte",
    "nonNegativeInteger",
    "positiveInteger",
    "nonPositiveInteger",
    "negativeInteger",
    "unsignedLong",
    "unsignedInt",
    "unsignedShort",
    "unsignedByte",
)
_FLOAT_TYPES = ("double", "float", "decimal")


def _boolean(text: str) -> bool:
    return text in ("true", "1")


def _float(text: str) -> float:
    # xsd spells infinity `INF`, Python `inf`.
    return float(text.replace("INF", "inf"))


_CONVERTERS: dict[str, Callable[[str], Any]] = {
    **{XSD_NS + name: int for name in _INTEGER_TYPES},
    **{XSD_NS + name: _float for name in _FLOAT_TYPES},
    XSD_NS + "boolean": _boolean,
    XSD_NS + "dateTime": datetime.fromisoformat,
    XSD_NS + "date": date.fromisoformat,
}


def to_python(term: Any) -> Any:
    """A query-result term as a Python value: IRI → `str`, blank node → `_:id`, literal → native or text.

    Integers, doubles/decimals, booleans, `xsd:dateTime` and `xsd:date` convert; any other literal (and
    one whose text is not valid for its type) stays its lexical text; an unbound variable is None.
    """
    if term is None:
        return None
    if isinstance(term, NamedNode):
        return term.value
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    if isinstance(term, Literal):
        convert = _CONVERTERS.get(term.datatype.value)
        if convert is None:
            return term.value
        try:
            return convert(term.value)
        except ValueError:
            return term.value
    return str(term)


def sparql_syntax_error(sparql: str, err: SyntaxError) -> CodexSyntaxError:
    """Oxigraph's `error at L:C: …` as a CodexSyntaxError with the line and a caret."""
    text = str(err)
    match = _SPARQL_POSITION.search(text)
    line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
    lines = sparql.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    reason = _SPARQL_POSITION.sub("", text).replace("error :", "").strip(" :")
    return CodexSyntaxError(
        f"The SPARQL query does not parse: {reason}; fix the query (the prefixes "
        f"{', '.join(PREFIXES)} are predeclared)",
        line=line,
        column=column,
        source_line=source,
    )


def rows_frame(names: list[str], rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a polars DataFrame; a column holding mixed kinds of values becomes text."""
    import polars as pl

    columns = {}
    for name in names:
        values = [row[name] for row in rows]
        kinds = {type(v) for v in values if v is not None}
        if len(kinds) > 1 and not kinds <= {int, float}:
            values = [None if v is None else str(v) for v in values]
        if not kinds:
            columns[name] = pl.Series(name, values, dtype=pl.String)
        else:
            columns[name] = pl.Series(name, values)
    return pl.DataFrame(columns)
