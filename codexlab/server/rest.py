"""The REST API under `/codexlab/api/` (JSON): runs, a run, a beam, lineage, replay, QFC payloads, SPARQL,
sheet metrics and the service's status.

Handlers are jupyter_server `APIHandler`s: the server's login (token or cookie), XSRF on writes from a
cookie session, and its authorizer on the `codexlab` resource. Store and graph reads run in a thread,
never on the event loop. Errors are `{"type": "error", "error", "message", "line", "column"}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..errors import (
    CodexBusy,
    CodexError,
    CodexNameError,
    CodexProtocolError,
    CodexSyntaxError,
    CodexTypeError,
    CodexValueError,
    StoreError,
)
from ..kg.store import kg_path
from ..runtime import Lab
from ..runtime.qfc import qfc_id_for
from .codex_websocket_interface import AUTH_RESOURCE
from .messages import RunRequest, dumps, error_message, request_from
from .service import CodexService
from .sparql import check_query

__all__ = ["ROUTES"]

T = TypeVar("T")

#: Most rows one listing returns.
MAX_LIMIT = 1000

_STATUS: tuple[tuple[type[CodexError], int], ...] = (
    (CodexBusy, 503),
    (CodexNameError, 404),
    (CodexSyntaxError, 400),
    (CodexValueError, 400),
    (CodexTypeError, 400),
    (CodexProtocolError, 400),
)


class _Failed(Exception):
    """A request that ends with an error reply (status and the error)."""

    def __init__(self, status: int, error: CodexError) -> None:
        super().__init__(error.message)
        self.status = status
        self.error = error


class CodexAPIHandler(ExtensionHandlerMixin, APIHandler):
    """Shared plumbing: the service, reads off the loop, JSON replies and errors."""

    auth_resource = AUTH_RESOURCE

    @property
    def service(self) -> CodexService:
        """The server's codexlab service."""
        return self.settings["codexlab_service"]

    async def lab(self) -> Lab:
        """The fabric's Lab (waiting for the fabric to start)."""
        return await self.service.ready()

    async def off_loop(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a thread; a `CodexError` becomes its error reply."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except CodexError as err:
            status = next((code for kind, code in _STATUS if isinstance(err, kind)), 500)
            raise _Failed(status, err) from err

    def reply(self, data: Any, status: int = 200) -> None:
        """Send JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(data))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, _Failed):
            self.reply(error_message(e.error), e.status)
            return
        super()._handle_request_exception(e)

    def arg_int(self, name: str, default: int, low: int = 0, high: int = MAX_LIMIT) -> int:
        """An integer query argument within [low, high]."""
        text = self.get_argument(name, None)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise _Failed(400, CodexValueError(f"`{name}` should be a whole number in [{low}, {high}], got `{text}`."))
        return value

    def not_found(self, what: str) -> _Failed:
        """A 404 for something this home does not have."""
        return _Failed(404, CodexNameError(f"No {what} in this codexlab home; check the id."))


class RunsHandler(CodexAPIHandler):
    """`GET`: stored runs, newest first (`container`, `since`, `until`, `limit`), and the runs waiting or
    running here. `POST {code, container?, source?}`: submit a run (202, or 503 when the queue is full)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.lab()
        container = self.get_argument("container", None)
        since, until = self.get_argument("since", None), self.get_argument("until", None)
        limit = self.arg_int("limit", 100, 1)
        rows = await self.off_loop(lambda: lab.store.runs(container, since=since, until=until, limit=limit))
        qfc = lab.home / "qfc"
        for row in rows:
            row["qfc_id"] = qfc_id_for(row["run_id"]) if (qfc / f"{row['run_id']}.json").is_file() else None
            row["status"] = "failed" if row["errors"] else "committed"
        self.reply({"runs": rows, "active": self._active(container)})

    def _active(self, container: str | None) -> list[dict[str, Any]]:
        return [
            {"run_id": j.run_id, "container": j.lane, "state": j.state, "source": j.source}
            for j in self.service.fabric.active(container)
        ]

    @web.authenticated
    @authorized(action="execute")
    async def post(self) -> None:
        await self.lab()
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _Failed(
                400, CodexProtocolError('The body should be a JSON object `{"code": ..., "container": ...}`.')
            )
        try:
            request = request_from({"type": "run", **body})
        except CodexProtocolError as err:
            raise _Failed(400, err) from err
        assert isinstance(request, RunRequest)
        fabric = self.service.fabric
        job, ahead = await self.off_loop(
            lambda: fabric.submit(request.code, request.container, request.source, ref=request.ref)
        )
        self.reply({"run_id": job.run_id, "container": job.lane, "queued": ahead, "state": job.state}, 202)


class RunHandler(CodexAPIHandler):
    """`GET`: one run — its beams, QFC id, intents and state. `DELETE`: cancel it (202)."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        lab = await self.lab()
        beams = await self.off_loop(lab.store.beams_for_run, run_id)
        job = self.service.fabric.job(run_id)
        if not beams and job is None:
            raise self.not_found(f"run `{run_id}`")
        intents = await self.off_loop(lambda: lab.store.rows("intents", sheet_run_id=run_id))
        error = next((b.result for b in beams if b.stage == "error"), None)
        has_qfc = (lab.home / "qfc" / f"{run_id}.json").is_file()
        state = job.state if job is not None and job.state in ("queued", "running") else None
        self.reply(
            {
                "run_id": run_id,
                "state": state or ("failed" if error is not None else "committed"),
                "container": beams[0].container_id if beams else job.lane if job else None,
                "cell_id": beams[0].cell_id if beams else None,
                "qfc_id": qfc_id_for(run_id) if has_qfc else None,
                "error": error,
                "beams": [b.model_dump(mode="json") for b in beams],
                "intents": intents,
            }
        )

    @web.authenticated
    @authorized(action="execute")
    async def delete(self, run_id: str) -> None:
        await self.lab()
        job = self.service.fabric.cancel(run_id)
        if job is None:
            raise self.not_found(f"waiting or running run `{run_id}` submitted here")
        self.reply({"run_id": run_id, "state": job.state, "cancelling": True}, 202)


class BeamHandler(CodexAPIHandler):
    """`GET`: one beam (contract 1)."""

    @web.authenticated
    @authorized
    async def get(self, beam_id: str) -> None:
        lab = await self.lab()
        beam = await self.off_loop(lab.store.get_beam, beam_id)
        if beam is None:
            raise self.not_found(f"beam `{beam_id}`")
        self.reply(beam.model_dump(mode="json"))


class LineageHandler(CodexAPIHandler):
    """`GET`: the ancestors (or `direction=descendants`) of a beam, `depth` generations (default all)."""

    @web.authenticated
    @authorized
    async def get(self, beam_id: str) -> None:
        lab = await self.lab()
        direction = self.get_argument("direction", "ancestors")
        depth = None if self.get_argument("depth", None) is None else self.arg_int("depth", 0, 0, 1_000_000)
        if await self.off_loop(lab.store.get_beam, beam_id) is None:
            raise self.not_found(f"beam `{beam_id}`")
        beams = await self.off_loop(lambda: lab.lineage(beam_id, direction=direction, depth=depth))
        self.reply({"beam_id": beam_id, "direction": direction, "beams": [b.model_dump(mode="json") for b in beams]})


class ReplayHandler(CodexAPIHandler):
    """`GET`: the newest `n` beams of an eid, a run (its GHX id) or a beam's eid, oldest first."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        lab = await self.lab()
        n = self.arg_int("n", 10, 1)
        container = self.get_argument("container", None)
        try:
            resolved, beams = await self.off_loop(lambda: (lab.replay_ref(ref), lab.replay(ref, n, container)))
        except _Failed as failed:
            if isinstance(failed.error, StoreError):
                failed.status = 404  # no such eid, run or beam
            raise
        self.reply({"ref": resolved, "beams": [b.model_dump(mode="json") for b in beams]})


class HudReplayHandler(CodexAPIHandler):
    """`GET`: the HUD's replay state of a beam, eid or run (steps and field heatmaps), for the dashboard."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        from ..hud.replay import replay_state

        lab = await self.lab()
        n = self.arg_int("n", 20, 1, 200)
        try:
            state = await self.off_loop(replay_state, lab, ref, n)
        except _Failed as failed:
            if isinstance(failed.error, StoreError):
                failed.status = 404  # no such eid, run or beam
            raise
        self.reply(state)


class HudPanelsHandler(CodexAPIHandler):
    """`GET`: the HUD's panel data of one stored run (by QFC id), for a dashboard that pins the run."""

    @web.authenticated
    @authorized
    async def get(self, qfc_id: str) -> None:
        from ..hud.panels import mutation_rows, panels_from_updates

        lab = await self.lab()

        def build() -> dict[str, Any]:
            updates = lab.qfc(qfc_id)
            panels = panels_from_updates(updates)
            if updates:
                panels["mutations"] = mutation_rows(lab.mutations(updates[0].container_id))
            return panels

        self.reply({"qfc_id": qfc_id, "panels": await self.off_loop(build)})


class QfcHandler(CodexAPIHandler):
    """`GET`: the stored QFC envelopes of a run, by its QFC id (`qfc::<run_id>`)."""

    @web.authenticated
    @authorized
    async def get(self, qfc_id: str) -> None:
        lab = await self.lab()
        updates = await self.off_loop(lab.qfc, qfc_id)
        self.reply({"qfc_id": qfc_id, "updates": [u.model_dump(mode="json") for u in updates]})


class SparqlHandler(CodexAPIHandler):
    """`GET ?query=` or `POST` (form field or JSON `query`): a read-only SPARQL query over the graph;
    `SERVICE` is refused. SELECT gives `rows`, ASK `boolean`, CONSTRUCT/DESCRIBE `rows` of triples."""

    @web.authenticated
    @authorized(action="read")
    async def get(self) -> None:
        await self._query(self.get_argument("query", ""))

    @web.authenticated
    @authorized(action="read")
    async def post(self) -> None:
        query = self.get_body_argument("query", None)
        if query is None:
            try:
                body = json.loads(self.request.body or b"{}")
            except ValueError:
                body = {}
            query = body.get("query", "") if isinstance(body, dict) else ""
        await self._query(query)

    async def _query(self, query: str) -> None:
        lab = await self.lab()
        try:
            check_query(query)
        except CodexValueError as err:
            raise _Failed(400, err) from err
        if not (kg_path(lab.home) / "CURRENT").is_file():
            raise self.not_found("knowledge graph yet (a committed run creates it)")
        result = await self.off_loop(lambda: self.service.graph().query(query))
        self.reply({"boolean": result} if isinstance(result, bool) else {"rows": result})


class SheetMetricsHandler(CodexAPIHandler):
    """`GET`: the `qpu_sheet_metrics` of stored runs, newest first (`container`, `since`, `until`, `limit`)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        lab = await self.lab()
        container = self.get_argument("container", None)
        since, until = self.get_argument("since", None), self.get_argument("until", None)
        limit = self.arg_int("limit", 100, 1)
        rows = await self.off_loop(lambda: _sheet_metrics(lab, container, since, until, limit))
        self.reply({"metrics": rows})


def _sheet_metrics(lab: Lab, container: str | None, since: str | None, until: str | None, limit: int) -> list[Any]:
    out = []
    for run in lab.store.runs(container, since=since, until=until, limit=limit):
        if run["errors"]:
            continue  # a failed run has no sheet metrics
        try:
            updates = lab.qfc(qfc_id_for(run["run_id"]))
        except CodexNameError:
            continue
        for update in updates:
            if update.kind == "qpu_sheet_metrics":
                out.append({"container": update.container_id, "started": run["started"], **update.payload})
    return out


class StatusHandler(CodexAPIHandler):
    """`GET`: workers, queue, running runs, connected clients and their drops."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.lab()
        self.reply(self.service.status())


_ID = r"([^/]+)"

#: (pattern, handler) under the server's base URL.
ROUTES: list[tuple[str, type[CodexAPIHandler]]] = [
    ("/codexlab/api/runs", RunsHandler),
    (f"/codexlab/api/runs/{_ID}", RunHandler),
    (f"/codexlab/api/beams/{_ID}", BeamHandler),
    (f"/codexlab/api/beams/{_ID}/lineage", LineageHandler),
    (f"/codexlab/api/replay/{_ID}", ReplayHandler),
    (f"/codexlab/api/hud/replay/{_ID}", HudReplayHandler),
    (f"/codexlab/api/hud/panels/{_ID}", HudPanelsHandler),
    (f"/codexlab/api/qfc/{_ID}", QfcHandler),
    ("/codexlab/api/sparql", SparqlHandler),
    ("/codexlab/api/metrics", SheetMetricsHandler),
    ("/codexlab/api/status", StatusHandler),
]
