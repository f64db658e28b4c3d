"""QKD signatures of entangled beams (`QKD_ON`): a simulated BB84 key per pair HMAC-signs its members' beams.

Each eid gets its own exchange, seeded from the scroll's `@seed` and the eid (`pair_key_seed`), so the
key can be re-derived to verify a stored beam. This is a simulation of the protocol's statistics
(sifting, QBER, abort above 11 %), not a secure channel and NOT tamper evidence: the exchange seed is
stored in the record beside the signature, so anyone can re-derive the key and re-sign an edited beam.
A signature that does not match shows an accident (or a careless edit), nothing more. Tamper evidence
for stored beams comes from the store's sealed run anchors (`codexlab.store.anchors`, `codexlab
verify`), whose key is kept outside the store. The signature and the exchange's public record go into
the beam's `result["qkd"]`; the signature covers every other content field of the beam (see
`codexlab.sqi.qkd.sign_beam`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from ..contracts import BeamEvent
from ..sqi.qkd import bb84_exchange, pair_key_seed, sign_beam, verify_beam_signature

__all__ = ["sign_entangled_beams", "verify_entangled_signatures", "broken_signatures", "QKD_FIELD"]

#: The key in a beam's result that holds its QKD signature and the exchange record.
QKD_FIELD = "qkd"


def _unsigned(beam: BeamEvent) -> dict[str, Any]:
    """The beam's content as signed: everything but the QKD record itself."""
    data = beam.model_dump(mode="json")
    data["result"] = {k: v for k, v in data["result"].items() if k != QKD_FIELD}
    return data


def _key(seed: int, eid: str, *, eavesdropper: bool = False) -> tuple[Any, int]:
    exchange_seed = pair_key_seed(seed, eid)
    return bb84_exchange(seed=exchange_seed, eavesdropper=eavesdropper), exchange_seed


def sign_entangled_beams(beams: Sequence[BeamEvent], *, seed: int, eavesdropper: bool = False) -> list[BeamEvent]:
    """Sign every beam that carries an eid with its pair's BB84 key; other beams pass through.

    Raises `QKDAbort` when an exchange's QBER is over the threshold (an eavesdropper): the cell then
    fails as a whole and nothing of it is stored but its error beam.
    """
    keys: dict[str, tuple[Any, int]] = {}
    out: list[BeamEvent] = []
    for beam in beams:
        if beam.eid is None:
            out.append(beam)
            continue
        if beam.eid not in keys:
            keys[beam.eid] = _key(seed, beam.eid, eavesdropper=eavesdropper)
            keys[beam.eid][0].raise_if_aborted()
        exchange, exchange_seed = keys[beam.eid]
        record = {
            "signature": sign_beam(_unsigned(beam), exchange.key),
            "key_id": hashlib.blake2b(exchange.key, digest_size=8).hexdigest(),
            "exchange_seed": exchange_seed,
            "qber": float(exchange.qber),
            "sifted": int(exchange.sifted),
        }
        out.append(beam.evolve(result={**beam.result, QKD_FIELD: record}))
    return out


def broken_signatures(beams: Iterable[BeamEvent]) -> dict[str, str]:
    """Beam id → one sentence, for each signed beam whose signature does not match its content.

    Keys are re-derived from the exchange seeds in the records, once per exchange; an unreadable record
    counts as broken (fail closed).
    """
    broken: dict[str, str] = {}
    keys: dict[int, bytes | None] = {}
    for beam in beams:
        record = beam.result.get(QKD_FIELD)
        if record is None:
            continue
        try:
            exchange_seed = int(record["exchange_seed"])
            if exchange_seed not in keys:
                keys[exchange_seed] = bb84_exchange(seed=exchange_seed).key
            key = keys[exchange_seed]
            ok = key is not None and verify_beam_signature(_unsigned(beam), record["signature"], key)
        except Exception as err:  # noqa: BLE001 - fail closed: a record that cannot be checked is broken
            broken[beam.beam_id] = f"beam `{beam.beam_id}`: its QKD record cannot be checked ({err})."
            continue
        if not ok:
            broken[beam.beam_id] = f"beam `{beam.beam_id}`: its QKD signature does not match its content."
    return broken


def verify_entangled_signatures(beams: Iterable[BeamEvent]) -> list[str]:
    """One sentence per signed beam whose signature does not match its content; empty when all hold."""
    return list(broken_signatures(beams).values())
