"""A SymPy integration worker run as its own process, so a slow integral can be stopped by killing it.

Protocol on stdin/stdout: 8-byte big-endian length, then a pickle. Requests are `(expr, limits)`;
answers are `("ok", result)` or `("error", message)`. Only SymPy and the standard library are imported.
"""

from __future__ import annotations

import pickle
import struct
import sys
from typing import Any, BinaryIO

_HEADER = struct.Struct(">Q")


def read_message(stream: BinaryIO) -> Any:
    """One length-prefixed pickle from `stream`; EOFError when the stream ends."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise EOFError("stream closed")
    (size,) = _HEADER.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        raise EOFError("stream closed mid-message")
    return pickle.loads(body)


def write_message(stream: BinaryIO, message: Any) -> None:
    """Write one length-prefixed pickle and flush."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def main() -> None:
    """Serve integration requests until stdin closes."""
    import sympy

    while True:
        try:
            expr, limits = read_message(sys.stdin.buffer)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", sympy.integrate(expr, *limits))
        except Exception as err:  # noqa: BLE001 - every SymPy failure is reported as "no closed form"
            answer = ("error", f"{type(err).__name__}: {err}")
        write_message(sys.stdout.buffer, answer)


if __name__ == "__main__":
    main()
