"""SoulLaw configuration: the sample file, thresholds, declarative user laws and their small language."""

from __future__ import annotations

import operator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexConfigError
from codexlab.sqi import DEFAULT_THRESHOLDS, SoulLawConfig, load_soullaw_config
from codexlab.sqi._conditions import KNOWN_KEYS, ConditionError, parse_condition
from codexlab.sqi.soullaw_config import DEFAULT_CONFIG_PATH


def test_sample_file_holds_the_defaults_and_an_example_law() -> None:
    config = load_soullaw_config()
    assert DEFAULT_CONFIG_PATH.name == "soullaw.toml" and DEFAULT_CONFIG_PATH.exists()
    assert dict(config.thresholds) == dict(DEFAULT_THRESHOLDS)
    assert [law.name for law in config.laws] == ["product_pair"]
    assert config.laws[0].verdict == "warn"


def test_thresholds_override_and_container_config_merges(tmp_path: Path) -> None:
    path = tmp_path / "soullaw.toml"
    path.write_text(
        '[thresholds]\nsqi_floor = 0.5\n\n[[laws]]\nname = "big"\nwhen = "norm > 10"\nverdict = "warn"\n',
        encoding="utf-8",
    )
    file_config = load_soullaw_config(path)
    assert file_config.thresholds["sqi_floor"] == 0.5
    assert file_config.thresholds["growth_limit"] == DEFAULT_THRESHOLDS["growth_limit"]
    merged = file_config.merged(
        {
            "thresholds": {"growth_limit": 10.0},
            "laws": [{"name": "big", "when": "norm > 99", "verdict": "veto"}],
        }
    )
    assert merged.thresholds["sqi_floor"] == 0.5 and merged.thresholds["growth_limit"] == 10.0
    assert [(law.name, law.when, law.verdict) for law in merged.laws] == [("big", "norm > 99", "veto")]
    assert merged.laws[0].reason == "user law `big`: norm > 99"
    assert file_config.merged(None) is file_config
    assert SoulLawConfig().merged(file_config).thresholds["sqi_floor"] == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[laws]]\nname = "max_norm"\nwhen = "norm >> 1e6"\n',
            r"law `max_norm`.*malformed `when`.*expected a number",
        ),
        (
            '[[laws]]\nname = "max_norm"\nwhen = "nrom > 1"\n',
            r"law `max_norm`.*unknown key `nrom`.*did you mean `norm`",
        ),
        (
            '[[laws]]\nname = "max_norm"\nwhen = "norm > 1 and"\n',
            r"law `max_norm`.*expected a key at column 13, got the end",
        ),
        ('[[laws]]\nname = "max_norm"\nwhen = "__import__(\'os\') > 1"\n', r"law `max_norm`.*malformed"),
        ('[[laws]]\nname = "max_norm"\n', r"law `max_norm`.* has no `when`"),
        ('[[laws]]\nname = "max_norm"\nwhen = "norm > 1"\nverdict = "vetoo"\n', r"did you mean `veto`"),
        ('[[laws]]\nname = "max_norm"\nwhen = "norm > 1"\nwhne = "x"\n', r"unknown key `whne`"),
        ('[[laws]]\nwhen = "norm > 1"\n', r"law #1 .* has no `name`"),
        ('[[laws]]\nname = "finite"\nwhen = "norm > 1"\n', r"law `finite`.*built-in"),
        (
            '[[laws]]\nname = "a"\nwhen = "norm > 1"\n[[laws]]\nname = "a"\nwhen = "max > 1"\n',
            r"`a` is defined twice",
        ),
        ("[thresholds]\nsqi_flor = 0.4\n", r"threshold `sqi_flor`.*did you mean `sqi_floor`"),
        ("[thresholds]\ngrowth_limit = -1\n", r"`growth_limit`.*finite number ≥ 0"),
        ("[thresholds]\ngrowth_limit = true\n", r"`growth_limit`.*finite number"),
        ("[thresholds]\nsqi_floor = 2\n", r"`sqi_floor`.*\[0, 1\]"),
        ("[limits]\nx = 1\n", r"unknown section `limits`"),
        ("[thresholds\n", r"not valid TOML"),
    ],
)
def test_malformed_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "soullaw.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CodexConfigError, match=message):
        load_soullaw_config(path)


def test_missing_explicit_file_and_bad_mapping(tmp_path: Path) -> None:
    with pytest.raises(CodexConfigError, match="does not exist"):
        load_soullaw_config(tmp_path / "nope.toml")
    with pytest.raises(CodexConfigError, match="must be a mapping"):
        SoulLawConfig().merged(["laws"])  # type: ignore[arg-type]


def test_and_binds_tighter_than_or() -> None:
    cond = parse_condition("norm > 10 and qscore < 0.5 or drift >= 0.2")
    values = {"norm": 20.0, "qscore": 0.9, "drift": 0.3}
    assert cond.holds(values.get)
    assert not cond.holds({"norm": 20.0, "qscore": 0.9, "drift": 0.1}.get)
    assert cond.holds({"norm": 20.0, "qscore": 0.1}.get)
    assert not cond.holds({}.get)
    assert parse_condition("norm ≤ 1").holds({"norm": 1.0}.get)


_OPS = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
_comparison = st.tuples(
    st.sampled_from(sorted(KNOWN_KEYS)),
    st.sampled_from(sorted(_OPS)),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: float(f"{v:.6g}")),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(_comparison, min_size=1, max_size=3), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(sorted(KNOWN_KEYS)), st.floats(-1e6, 1e6, allow_nan=False)),
)
def test_parsed_conditions_evaluate_like_their_meaning(clauses, values) -> None:
    text = " or ".join(" and ".join(f"{k} {op} {n!r}" for k, op, n in clause) for clause in clauses)
    expected = any(all(k in values and _OPS[op](values[k], n) for k, op, n in clause) for clause in clauses)
    assert parse_condition(text).holds(values.get) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "norm",
        "norm >",
        "> 1",
        "norm > 1 xor max < 2",
        "norm > 1e6e5",
        "norm > 1 and and max < 2",
        "(norm > 1)",
        "norm > x" * 100,
    ],
)
def test_malformed_conditions(text: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(text)
