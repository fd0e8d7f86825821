"""Real-browser fixtures: `streamlit run app/main.py` on a loopback port + headless Debian chromium.

Outside CI a missing chromium or playwright skips these tests with a reason; in CI
(`CI=true`) it fails them, since `.ci/run` installs both.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
APP_READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _missing(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests need {reason} in CI (.ci/run installs it)")
    pytest.skip(f"{reason} not available")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AppServer:
    url: str
    prompts_file: Path
    output_dir: Path
    log: Path
    process: subprocess.Popen


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> AppServer:
    yield from _serve(tmp_path_factory.mktemp("app"), {})


@pytest.fixture(scope="module")
def classroom_server(tmp_path_factory) -> AppServer:
    """The app as a class network sees it (read-only until the instructor signs in with the token)."""
    yield from _serve(tmp_path_factory.mktemp("classroom"), {"DC_CLASSROOM_MODE": "1",
                                                             "DC_INSTRUCTOR_TOKEN": "owl-42"})


def _serve(tmp: Path, extra_env: dict):
    prompts = tmp / "part1.toml"
    if (ROOT / "prompts" / "part1.toml").exists():
        shutil.copy(ROOT / "prompts" / "part1.toml", prompts)
    output = tmp / "outputs"
    env = {
        **os.environ,
        "DC_FLUX_MODEL": "tiny",
        "DC_PROMPTS_FILE": str(prompts),
        "DC_OUTPUT_DIR": str(output),
        "DC_TINY_DIR": str(tmp / "tiny-flux"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(ROOT),
        **extra_env,
    }
    port = _free_port()
    log = tmp / "streamlit.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the server and its job workers stop together
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited early:\n{log.read_text()}")
    else:
        _stop(proc)
        pytest.fail(f"streamlit did not become healthy:\n{log.read_text()}")
    yield AppServer(url, prompts, output, log, proc)
    _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its job workers: a moment to stop by itself, then killed (a busy server took up to
    10 s to wind down after the last test, and nothing here reads what it does meanwhile)."""
    proc.terminate()
    try:
        proc.wait(2)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group: workers of a killed server would live on
    except ProcessLookupError:
        pass
    proc.wait(10)


@pytest.fixture
def lesson_file(app_server):
    """The server's prompt file, fresh from prompts/part1.toml, put back as it was afterwards (other tests
    share the server and edit it)."""
    original = app_server.prompts_file.read_bytes()
    app_server.prompts_file.write_bytes((ROOT / "prompts" / "part1.toml").read_bytes())
    yield app_server.prompts_file
    app_server.prompts_file.write_bytes(original)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        _missing("Debian's chromium (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def wait_for_app(page, timeout_ms: int = 30_000) -> None:
    """Wait until the page script has finished running (the state a user judges)."""
    page.wait_for_selector(APP_READY, timeout=timeout_ms)
    # a rerun can start right after; give it a beat and wait again
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_READY, timeout=timeout_ms)


def assert_no_exception(page) -> None:
    exc = page.locator("[data-testid='stException']")
    assert exc.count() == 0, exc.first.inner_text()
