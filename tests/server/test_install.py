"""How the service is installed and started: the package maps the config file that enables it into
`etc/jupyter/`; that file enables it in any Jupyter server; `codexlab serve` prints its URL with the token."""

from __future__ import annotations

import json
import tomllib

import pytest

from ._server import ROOT, SERVER_CONFIG, ServiceProcess


def test_the_package_installs_the_file_that_enables_the_service() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    data_files = project["tool"]["setuptools"]["data-files"]
    assert data_files["etc/jupyter/jupyter_server_config.d"] == [str(SERVER_CONFIG.relative_to(ROOT))]
    assert json.loads(SERVER_CONFIG.read_text()) == {"ServerApp": {"jpserver_extensions": {"codexlab.server": True}}}
    assert {"server/static/*.js", "server/static/*.css"} <= set(
        project["tool"]["setuptools"]["package-data"]["codexlab"]
    )
    extras = project["project"]["optional-dependencies"]
    assert any(d.startswith("jupyter_server") for d in extras["jupyter"])


@pytest.mark.slow
def test_a_plain_jupyter_server_with_the_config_file_serves_the_dashboard(tmp_path) -> None:
    server = ServiceProcess(tmp_path, jupyter="server").start()
    try:
        status, page, headers = server.request("/codexlab/")
        assert status == 200 and "text/html" in headers["Content-Type"]
        assert 'src="/static/codexlab/dashboard.js"' in page
        status, module, _ = server.request("/static/codexlab/hud.js", token=False)
        assert status == 200 and "export default" in module  # the HUD's own module, served as is
        assert server.get("/codexlab/api/status")["home"] == str(server.home.resolve())
    finally:
        server.stop()


@pytest.mark.slow
def test_codexlab_serve_prints_a_url_whose_token_logs_in(tmp_path) -> None:
    server = ServiceProcess(tmp_path, token=None).start()  # the token is read from the printed URL
    try:
        assert server.token and len(server.token) >= 32
        assert server.request("/codexlab/api/runs")[0] == 200
        assert server.request("/codexlab/api/runs", token=False)[0] == 403
    finally:
        server.stop()
