"""Binder: repo2docker's files in binder/ install the package and set up JupyterLab; the README badge opens
the tour."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_requirements_install_this_package_and_pin_the_rest() -> None:
    lines = [x.strip() for x in (BINDER / "requirements.txt").read_text().splitlines()]
    lines = [x for x in lines if x and not x.startswith("#")]
    assert lines[0].startswith("-e .")
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][0-9A-Za-z.]*", x) for x in lines[1:]), lines[1:]
    assert {"jupyterlab", "anywidget", "jax", "plotly"} <= {x.split("==")[0] for x in lines[1:]}
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"


def test_post_build_writes_the_lab_settings_and_builds_nothing(tmp_path: Path) -> None:
    script = BINDER / "postBuild"
    text = script.read_text()
    assert os.access(script, os.X_OK) and "set -euo pipefail" in text
    assert "npm" not in text and "node" not in text  # Plotly comes from the plotly package
    tools = tmp_path / "bin"  # only what the script needs: no node, no npm, no network
    tools.mkdir()
    for name in ("mkdir", "cat"):
        (tools / name).symlink_to(shutil.which(name) or f"/bin/{name}")
    env = {"HOME": str(tmp_path), "PATH": str(tools)}
    bash = shutil.which("bash") or "/bin/bash"
    out = subprocess.run([bash, str(script)], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    settings = tmp_path / ".jupyter" / "lab" / "user-settings" / "@jupyterlab"
    tracker = json.loads((settings / "notebook-extension" / "tracker.jupyterlab-settings").read_text())
    assert tracker == {"windowingMode": "none"}
    notes = json.loads((settings / "apputils-extension" / "notification.jupyterlab-settings").read_text())
    assert notes["checkForUpdates"] is False
    assert out.stdout == ""
    server = json.loads((tmp_path / ".jupyter" / "jupyter_server_config.d" / "codexlab.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"] == {"codexlab.server": True}


def test_readme_badge_opens_the_tour() -> None:
    readme = (ROOT / "README.md").read_text()
    (link,) = re.findall(r"\(https://mybinder\.org/v2/gh/[^)\s]+\)", readme)
    labpath = unquote(link.split("labpath=")[1].rstrip(")"))
    assert labpath == "notebooks/00_tour.ipynb" and (ROOT / labpath).is_file()
