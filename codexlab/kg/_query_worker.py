"""The child process of `codexlab.kg.sandbox.run_limited`: one query on a graph opened read-only.

Reads `{"path", "sparql", "prefixes"}` as JSON on stdin; writes `json` or `ntriples`, a newline and the
serialized result on stdout; on failure exits non-zero with `{"kind", "message"}` as its last stderr line.
"""

from __future__ import annotations

import json
import sys

from pyoxigraph import QueryResultsFormat, QueryTriples, RdfFormat, Store


def main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    try:
        store = Store.read_only(request["path"])
    except (OSError, RuntimeError) as err:
        return _fail("store", f"The knowledge graph at `{request['path']}` could not be opened read-only: {err}")
    try:
        result = store.query(request["sparql"], prefixes=request["prefixes"], use_default_graph_as_union=True)
        if isinstance(result, QueryTriples):
            kind, body = b"ntriples", result.serialize(format=RdfFormat.N_TRIPLES)
        else:  # SELECT solutions or an ASK boolean
            kind, body = b"json", result.serialize(format=QueryResultsFormat.JSON)
    except SyntaxError as err:
        return _fail("syntax", str(err))
    except (OSError, RuntimeError) as err:
        return _fail("store", f"The knowledge graph at `{request['path']}` could not be read: {err}")
    out = sys.stdout.buffer
    out.write(kind + b"\n")
    out.write(body or b"")
    out.flush()
    return 0


def _fail(kind: str, message: str) -> int:
    sys.stderr.write("\n" + json.dumps({"kind": kind, "message": message}) + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
