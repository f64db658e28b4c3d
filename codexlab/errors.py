"""The exceptions codexlab raises: every one is a `CodexError` and the matching built-in.

Messages are one sentence that says the problem, names in backticks, then the fix. Errors that
happened at a place in a scroll carry `line` and `column` (1-based) and render them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "CodexError",
    "CodexSyntaxError",
    "CodexNameError",
    "CodexTypeError",
    "CodexValueError",
    "CodexConfigError",
    "ContractError",
    "StoreError",
    "ResourceError",
    "BackendError",
    "RewriteError",
    "CodexCancelled",
    "CodexEvaluationError",
    "SheetError",
    "CodexTimeout",
    "CodexBusy",
    "CodexProtocolError",
    "did_you_mean",
    "located",
]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean `x`?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean `{close[0]}`?)" if close else ""


class CodexError(Exception):
    """Base class of every codexlab error; optionally located at a line and column of a scroll."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self._located(message))

    def at(self, line: int | None, column: int | None = None) -> CodexError:
        """Locate the error at a statement (unless it already has a place); returns the error itself."""
        if self.line is None and line:
            self.line, self.column = line, column or None
            self.args = (self._located(self.message),)
        return self

    def _located(self, message: str) -> str:
        if self.line is None:
            return message
        where = f"line {self.line}" + (f", column {self.column}" if self.column is not None else "")
        return f"{message} ({where})"

    def _render_traceback_(self) -> list[str]:
        """One or two clean lines for IPython instead of a full traceback."""
        return [f"{type(self).__name__}: {self}"]


class CodexSyntaxError(CodexError, SyntaxError):
    """A scroll that does not parse: line, column, the source line with a caret, what was expected."""

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        source_line: str = "",
        expected: tuple[str, ...] = (),
    ) -> None:
        self.source_line = source_line
        self.expected = expected
        CodexError.__init__(self, message, line=line, column=column)
        # SyntaxError's own attributes, so tools that know SyntaxError show the place too.
        self.msg = message
        self.lineno = line
        self.offset = column
        self.text = source_line
        self.filename = "<codex>"

    @property
    def caret(self) -> str:
        """The source line and a caret under the offending column."""
        return f"{self.source_line}\n{' ' * max((self.column or 1) - 1, 0)}^"

    def __str__(self) -> str:
        head = f"{self.message} (line {self.line}, column {self.column})"
        return f"{head}\n{self.caret}" if self.source_line else head

    def _render_traceback_(self) -> list[str]:
        return [f"CodexSyntaxError: {self}"]


class CodexNameError(CodexError, NameError):
    """A name that is not defined in the scroll or its container."""


class CodexTypeError(CodexError, TypeError):
    """A glyph applied to the wrong kind of value (curl of a 2-D scalar, ...)."""


class CodexValueError(CodexError, ValueError):
    """A value outside what an operation accepts."""


class CodexConfigError(CodexError, ValueError):
    """A bad flag name or value, or a bad configuration entry."""


class ContractError(CodexError, ValueError):
    """A payload that does not validate against its contract."""


class StoreError(CodexError, RuntimeError):
    """The beam store could not do what was asked; nothing was written."""


class ResourceError(CodexError, MemoryError):
    """A request larger than the configured limits (grid points, bytes, iterations)."""


class BackendError(CodexError, RuntimeError):
    """A kernel or backend that is missing or disabled."""


class RewriteError(CodexError, RuntimeError):
    """The rewrite engine could not reach a fixpoint within its step cap."""


class CodexCancelled(CodexError, RuntimeError):
    """A run stopped on request (its `cancel` event was set) before its next instruction."""


class CodexEvaluationError(CodexError, ArithmeticError):
    """An evaluation failed in a way no other `CodexError` names (the underlying error is its cause)."""


class SheetError(CodexError, ValueError):
    """A sheet that cannot run as a graph (a cycle, a name defined by two cells), or one of its cells failed."""

    #: When a cell failed: the partial `SheetRun` (which cells ran, were reused or did not run).
    sheet_run: object = None

    def _located(self, message: str) -> str:
        return message  # the message names the cell and its file line itself


class CodexTimeout(CodexError, TimeoutError):
    """A run that passed its time limit; the service's supervisor failed it from outside."""


class CodexBusy(CodexError, RuntimeError):
    """The service's run queue is full; the run was not accepted (submit it again later)."""


class CodexProtocolError(CodexError, ValueError):
    """A WebSocket or REST message that is not valid JSON or not a known message of the service."""


def located(err: Exception, line: int | None, column: int | None = None) -> CodexError:
    """`err` as a `CodexError` at a statement: a `CodexError` gets the place (unless it has one), anything
    else is wrapped in `CodexEvaluationError` (raise the result `from err`, so the cause stays visible)."""
    if isinstance(err, CodexError):
        return err.at(line, column)
    detail = str(err).strip().splitlines()[0] if str(err).strip() else "no detail"
    if len(detail) > 200:
        detail = detail[:199] + "…"
    wrapped = CodexEvaluationError(f"The statement failed unexpectedly ({type(err).__name__}: {detail}).")
    return wrapped.at(line, column)
