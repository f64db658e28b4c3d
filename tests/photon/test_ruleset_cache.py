"""Soundness checks are cached on disk by rule content: a new process reads them instead of checking again,
and a rule whose content changes is checked afresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codexlab.photon import ir
from codexlab.photon.pattern import var
from codexlab.photon.ruleset import Rule, _check_key

# Verify every default rule; with CHECK=0 the numeric check itself is forbidden (only the cache may answer).
_VERIFY = """
import json, os
from codexlab.photon import ruleset, soundness
from codexlab.photon.rules import DEFAULT_RULES
if os.environ["CHECK"] == "0":
    def refuse(*args, **kwargs):
        raise AssertionError("a rule was checked again instead of read from the cache")
    soundness.check_rule = refuse
stats = DEFAULT_RULES.verify()
print(json.dumps({name: [s.passes, s.failures, s.skipped] for name, s in stats.items()}))
"""


def _verify(cache: Path, check: bool) -> dict[str, list[int]]:
    env = {**os.environ, "CODEXLAB_CACHE_DIR": str(cache), "CHECK": "1" if check else "0"}
    out = subprocess.run([sys.executable, "-c", _VERIFY], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_new_process_reads_the_checks_an_earlier_one_ran(tmp_path: Path) -> None:
    first = _verify(tmp_path, check=True)
    assert first and sum(p for p, _, _ in first.values()) > 0
    stored = json.loads((tmp_path / "rules" / "soundness.json").read_text())
    assert len(stored) == len(first)
    assert _verify(tmp_path, check=False) == first


def test_the_key_follows_the_rules_content() -> None:
    a, b = var("a", "scalar"), var("b", "scalar")
    plus = ir.node("+", a, b)
    one = Rule("swap", plus, ir.node("+", b, a))
    same = Rule("swap", plus, ir.node("+", b, a))
    other = Rule("swap", plus, ir.node("+", a, b))
    assert _check_key(one, 2, 0) == _check_key(same, 2, 0)
    assert len({_check_key(one, 2, 0), _check_key(other, 2, 0), _check_key(one, 3, 0), _check_key(one, 2, 1)}) == 4

    def make(k: int):
        return lambda bindings, ctx: k > 0

    guarded = [Rule("g", plus, plus, guard=make(k)) for k in (1, 2)]
    assert _check_key(guarded[0], 2, 0) != _check_key(guarded[1], 2, 0)  # same code, other closure
