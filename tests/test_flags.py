"""Feature flags: precedence (argument > environment > pyproject > default), parsing and errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from codexlab.errors import CodexConfigError
from codexlab.flags import (
    FLAG_NAMES,
    FLAG_SPECS,
    Flags,
    find_pyproject,
    format_flags_table,
    resolve_flags,
)

DEFAULTS = {
    "PHASE9_ENABLED": False,
    "PHASE10_ENABLED": False,
    "QWAVE_EXEC_ON": True,
    "QKD_ON": False,
    "SPE_AUTO_FUSE": False,
    "VAULT_ALL": False,
    "COST_THRESHOLD": 2000.0,
}


def write_pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def empty_project(tmp_path: Path) -> Path:
    """A project whose pyproject.toml has no [tool.codexlab] table (so nothing above it is read)."""
    write_pyproject(tmp_path, "[project]\nname = 'x'\n")
    return tmp_path


def test_names_defaults_and_help():
    assert FLAG_NAMES == tuple(DEFAULTS)
    assert all(FLAG_SPECS[name].help and "\n" not in FLAG_SPECS[name].help for name in FLAG_NAMES)


def test_defaults_when_nothing_is_set(empty_project):
    flags = resolve_flags(environ={}, start_dir=empty_project)
    assert flags.as_dict() == DEFAULTS
    assert all(flags.source(name) == "default" for name in FLAG_NAMES)
    assert isinstance(flags.COST_THRESHOLD, float) and flags["QWAVE_EXEC_ON"] is True


def test_precedence_argument_then_environment_then_pyproject_then_default(tmp_path):
    write_pyproject(tmp_path, "[tool.codexlab]\nQKD_ON = true\nSPE_AUTO_FUSE = true\nCOST_THRESHOLD = 5.0\n")
    env = {"QKD_ON": "0", "SPE_AUTO_FUSE": "off"}
    flags = resolve_flags({"QKD_ON": True}, environ=env, start_dir=tmp_path)
    assert (flags.QKD_ON, flags.source("QKD_ON")) == (True, "argument")
    assert (flags.SPE_AUTO_FUSE, flags.source("SPE_AUTO_FUSE")) == (False, "environment")
    assert (flags.COST_THRESHOLD, flags.source("COST_THRESHOLD")) == (5.0, "pyproject")
    assert (flags.PHASE9_ENABLED, flags.source("PHASE9_ENABLED")) == (False, "default")
    assert flags.pyproject == tmp_path / "pyproject.toml"


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "Yes", "on", " On "])
def test_environment_true_words(word, empty_project):
    flags = resolve_flags(environ={"PHASE9_ENABLED": word}, start_dir=empty_project)
    assert flags.PHASE9_ENABLED is True and flags.source("PHASE9_ENABLED") == "environment"


@pytest.mark.parametrize("word", ["0", "false", "False", "NO", "off"])
def test_environment_false_words(word, empty_project):
    assert resolve_flags(environ={"QWAVE_EXEC_ON": word}, start_dir=empty_project).QWAVE_EXEC_ON is False


@pytest.mark.parametrize("word", ["2", "enabled", "", "tru"])
def test_environment_bad_boolean_names_variable_and_accepted_values(word, empty_project):
    expected = (
        r"`QKD_ON` \(environment variable `QKD_ON`\) is `.*`, which is not a boolean; "
        r"use 1/true/yes/on for on or 0/false/no/off for off\."
    )
    with pytest.raises(CodexConfigError, match=expected):
        resolve_flags(environ={"QKD_ON": word}, start_dir=empty_project)


def test_environment_numbers(empty_project):
    assert resolve_flags(environ={"COST_THRESHOLD": "12.5"}, start_dir=empty_project).COST_THRESHOLD == 12.5
    assert resolve_flags(environ={"COST_THRESHOLD": "0"}, start_dir=empty_project).COST_THRESHOLD == 0.0
    with pytest.raises(
        CodexConfigError,
        match=r"`COST_THRESHOLD` \(environment variable `COST_THRESHOLD`\) "
        r"is `fast`, which is not a number",
    ):
        resolve_flags(environ={"COST_THRESHOLD": "fast"}, start_dir=empty_project)
    for bad in ("-1", "nan", "inf"):
        with pytest.raises(CodexConfigError, match=r"must be a finite number >= 0"):
            resolve_flags(environ={"COST_THRESHOLD": bad}, start_dir=empty_project)


def test_real_process_environment_is_read(monkeypatch, empty_project):
    monkeypatch.setenv("PHASE10_ENABLED", "yes")
    flags = resolve_flags(start_dir=empty_project)
    assert flags.PHASE10_ENABLED is True and flags.source("PHASE10_ENABLED") == "environment"


def test_pyproject_is_found_by_walking_up_and_lowercase_keys_work(tmp_path):
    write_pyproject(
        tmp_path,
        "[tool.codexlab]\nphase9_enabled = true\ncost_threshold = 7\nhome = '.cx'\n"
        "[tool.codexlab.containers.demo]\nrequires_consent = true\n",
    )
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_pyproject(deep) == tmp_path / "pyproject.toml"
    flags = resolve_flags(environ={}, start_dir=deep)
    assert flags.PHASE9_ENABLED is True and flags.source("PHASE9_ENABLED") == "pyproject"
    assert flags.COST_THRESHOLD == 7.0 and isinstance(flags.COST_THRESHOLD, float)


def test_nearest_pyproject_wins(tmp_path):
    write_pyproject(tmp_path, "[tool.codexlab]\nQKD_ON = true\n")
    inner = tmp_path / "inner"
    inner.mkdir()
    write_pyproject(inner, "[tool.codexlab]\nSPE_AUTO_FUSE = true\n")
    flags = resolve_flags(environ={}, start_dir=inner)
    assert flags.SPE_AUTO_FUSE is True and flags.QKD_ON is False


def test_pyproject_unknown_flag_suggests_the_closest(tmp_path):
    write_pyproject(tmp_path, "[tool.codexlab]\nQWAVE_EXEC = false\n")
    with pytest.raises(
        CodexConfigError,
        match=r"`QWAVE_EXEC` in `\[tool\.codexlab\]` in .* is not a flag or "
        r"setting \(did you mean `QWAVE_EXEC_ON`\?\)",
    ):
        resolve_flags(environ={}, start_dir=tmp_path)


def test_pyproject_wrong_types(tmp_path):
    write_pyproject(tmp_path, "[tool.codexlab]\nQKD_ON = 1\n")
    expected = r"`QKD_ON` \(`\[tool\.codexlab\]` in .*\) should be a boolean"
    with pytest.raises(CodexConfigError, match=expected):
        resolve_flags(environ={}, start_dir=tmp_path)
    write_pyproject(tmp_path, "[tool.codexlab]\nCOST_THRESHOLD = [1]\n")
    with pytest.raises(CodexConfigError, match=r"`COST_THRESHOLD` .* should be a number >= 0, got `\[1\]`"):
        resolve_flags(environ={}, start_dir=tmp_path)
    write_pyproject(tmp_path, "[tool.codexlab\nQKD_ON = true\n")
    with pytest.raises(CodexConfigError, match=r"is not valid TOML"):
        resolve_flags(environ={}, start_dir=tmp_path)


def test_argument_unknown_name_and_wrong_types(empty_project):
    expected = r"`PHASE9_ENABLE` \(argument\) is not a flag \(did you mean `PHASE9_ENABLED`\?\); use one of "
    with pytest.raises(CodexConfigError, match=expected):
        resolve_flags({"PHASE9_ENABLE": True}, environ={}, start_dir=empty_project)
    expected = r"`QKD_ON` \(argument `QKD_ON`\) should be a boolean \(true or false\), got `1`"
    with pytest.raises(CodexConfigError, match=expected):
        resolve_flags({"QKD_ON": 1}, environ={}, start_dir=empty_project)
    with pytest.raises(
        CodexConfigError,
        match=r"`COST_THRESHOLD` \(argument `COST_THRESHOLD`\) should be a "
        r"number >= 0, got `True`",
    ):
        resolve_flags({"COST_THRESHOLD": True}, environ={}, start_dir=empty_project)
    with pytest.raises(CodexConfigError, match=r"is -0\.5, but it must be a finite number >= 0"):
        resolve_flags({"COST_THRESHOLD": -0.5}, environ={}, start_dir=empty_project)


def test_arguments_accept_lowercase_and_text(empty_project):
    flags = resolve_flags({"qkd_on": "yes", "COST_THRESHOLD": 3}, environ={}, start_dir=empty_project)
    assert flags.QKD_ON is True and flags.COST_THRESHOLD == 3.0
    assert flags.source("QKD_ON") == flags.source("COST_THRESHOLD") == "argument"


def test_a_bad_value_is_reported_even_when_a_higher_source_overrides_it(tmp_path):
    write_pyproject(tmp_path, "[tool.codexlab]\nQKD_ON = 'maybe'\n")
    with pytest.raises(CodexConfigError, match=r"`QKD_ON` .* is `maybe`, which is not a boolean"):
        resolve_flags({"QKD_ON": True}, environ={}, start_dir=tmp_path)


def test_flags_are_immutable_and_with_overrides_copies(empty_project):
    flags = resolve_flags(environ={"QKD_ON": "1"}, start_dir=empty_project)
    with pytest.raises(AttributeError, match="immutable"):
        flags.QKD_ON = False
    changed = flags.with_overrides(QKD_ON=False, cost_threshold=1.5)
    assert flags.QKD_ON is True and flags.source("QKD_ON") == "environment"
    assert changed.QKD_ON is False and changed.source("QKD_ON") == "argument"
    assert changed.COST_THRESHOLD == 1.5 and changed.source("PHASE9_ENABLED") == "default"
    with pytest.raises(CodexConfigError, match=r"did you mean `SPE_AUTO_FUSE`"):
        flags.with_overrides(SPE_AUTOFUSE=True)


def test_mapping_access_and_unknown_names(empty_project):
    flags = resolve_flags(environ={}, start_dir=empty_project)
    assert isinstance(flags, Flags) and list(flags) == list(FLAG_NAMES) and len(flags) == 7
    assert dict(flags) == DEFAULTS and flags.get("NOPE") is None
    with pytest.raises(AttributeError, match=r"`QKD` is not a flag \(did you mean `QKD_ON`\?\)"):
        flags.QKD  # noqa: B018
    with pytest.raises(KeyError, match=r"did you mean `COST_THRESHOLD`"):
        flags["COST_THRESHOLDS"]
    with pytest.raises(KeyError, match=r"did you mean `QKD_ON`"):
        flags.source("QKD_OFF")
    assert pickle.loads(pickle.dumps(flags)) == flags
    assert flags == resolve_flags(environ={}, start_dir=empty_project)
    assert hash(flags) == hash(resolve_flags(environ={}, start_dir=empty_project))


def test_flags_table_is_aligned_with_every_flag(empty_project):
    flags = resolve_flags({"QKD_ON": True}, environ={"COST_THRESHOLD": "12"}, start_dir=empty_project)
    lines = format_flags_table(flags).splitlines()
    assert lines[0].split() == ["flag", "value", "source", "help"]
    assert len(lines) == 1 + len(FLAG_NAMES)
    value_col = lines[0].index("value")
    source_col = lines[0].index("source")
    help_col = lines[0].index("help")
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == set(FLAG_NAMES)
    assert rows["QKD_ON"][value_col:].split()[:2] == ["true", "argument"]
    assert rows["COST_THRESHOLD"][value_col:].split()[:2] == ["12.0", "environment"]
    assert rows["QWAVE_EXEC_ON"][source_col:].startswith("default")
    for name, line in rows.items():
        assert line[help_col:] == FLAG_SPECS[name].help
