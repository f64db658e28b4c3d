"""The dashboard in a real browser: JupyterLab on 127.0.0.1 hosts the service (enabled by its config file),
Debian's Chromium driven by Playwright opens `/codexlab/`.

A second client submits a scroll over REST and the dashboard shows it while it runs and after it commits;
a cell run by another process on the same home (as a notebook kernel would) appears too; clicking a beam
in the HUD's timeline shows its replay. Screenshots go to `$CODEXLAB_TEST_OUTPUT/browser` (default
`test-output/browser/`). Without Chromium or Playwright the test skips with one line; under `CI=true`
that skip is a failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server._server import ServiceProcess

from .test_jupyterlab_hud import CHROMIUM, CHROMIUM_ARGS, _unavailable

LOOP = "@grid x:-1..1:256, y:-1..1:256\nu := gaussian(x, y, σ=0.2)\n⟲ 12000 { u = u + 0.00001*Δu }\nL = Δu\n"
NOTEBOOK_CELL = "@grid x:-1..1:32, y:-1..1:32\nψ := gaussian(x, y, σ=0.3)\nE = ∇ψ • ∇ψ\n"


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    pytest.importorskip("playwright.sync_api", reason="Playwright (Python) is not installed")
    server = ServiceProcess(tmp_path_factory.mktemp("dashboard"), "LabApp.news_url=None", jupyter="lab").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def output_dir() -> Path:
    import os

    root = Path(__file__).resolve().parents[2]
    folder = Path(os.environ.get("CODEXLAB_TEST_OUTPUT", root / "test-output")) / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_dashboard_follows_runs_live_and_replays_a_clicked_beam(lab_server: ServiceProcess, output_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    server = lab_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"{server.url}/codexlab/?token={server.token}")
            page.locator("#cx-status[data-state='open']").wait_for(timeout=60_000)
            hud = page.locator("#cx-hud .cx-hud")

            # ---- a second client submits a scroll; the dashboard shows it running, then committed
            status, body, _ = server.request(
                "/codexlab/api/runs", method="POST", body={"code": LOOP, "container": "browser"}
            )
            assert status == 202, body
            run_id = body["run_id"]
            running = page.locator(f"#cx-hud .cx-hud[data-run='{run_id}'][data-live='1']")
            running.wait_for(timeout=120_000)
            running.locator(".cx-progress").wait_for(timeout=120_000)  # the ⟲ loop's progress, live
            assert "/ 12000" in running.locator(".cx-progress").text_content()
            page.screenshot(path=str(output_dir / "dashboard_01_running.png"))
            page.locator(f"#cx-hud .cx-hud[data-run='{run_id}'][data-live='0']").wait_for(timeout=240_000)
            page.locator(f"#cx-runs tr[data-run-id='{run_id}']").wait_for(timeout=30_000)
            assert hud.locator("summary", has_text="SQI / drift per run").count() == 1
            page.screenshot(path=str(output_dir / "dashboard_02_committed.png"))

            # ---- a cell run by another process on the same home appears as well
            from codexlab.runtime import Lab

            kernel_lab = Lab(home=server.home)
            kernel_lab.progress = False
            other = kernel_lab.run(NOTEBOOK_CELL, "notebook")
            page.locator(f"#cx-runs tr[data-run-id='{other.run_id}']").wait_for(timeout=60_000)
            page.locator(f"#cx-hud .cx-hud[data-run='{other.run_id}']").wait_for(timeout=60_000)
            page.screenshot(path=str(output_dir / "dashboard_03_notebook_run.png"))

            # ---- back to the submitted run (pinned from the list), click a beam: its replay shows
            page.locator(f"#cx-runs tr[data-run-id='{run_id}']").click()
            page.locator(f"#cx-hud .cx-hud[data-run='{run_id}']").wait_for(timeout=30_000)
            rows = hud.locator("svg.cx-timeline g[data-beam-id]")
            rows.first.wait_for(timeout=30_000)
            target = rows.nth(rows.count() - 1)
            beam_id = target.get_attribute("data-beam-id")
            target.click()
            panel = hud.locator(f".cx-replay-panel[data-selected='{beam_id}']")
            panel.wait_for(timeout=30_000)
            assert panel.locator(f".cx-strip span[data-beam-id='{beam_id}']").count() == 1
            time.sleep(0.2)  # let the field canvas paint before the screenshot
            page.screenshot(path=str(output_dir / "dashboard_04_replay.png"), full_page=True)
        finally:
            browser.close()
    for name in ("dashboard_01_running.png", "dashboard_02_committed.png", "dashboard_04_replay.png"):
        assert (output_dir / name).stat().st_size > 10_000
