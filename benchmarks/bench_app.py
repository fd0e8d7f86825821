"""App benchmarks (run: `python -m benchmarks.bench_app`); each figure beside a baseline from the same run.

  1. cold start: a fresh `streamlit run app/main.py` until Home is painted in headless chromium
     (target <= 3 s), beside a one-line Streamlit app started the same way;
  2. training inside the app: the Score lab's worker in the job pool, with the page's live
     charts rebuilt at its fragments' rates (target >= 0.8x), beside the bare Trainer;
  3. a page load while 5 browser sessions train at once (target <= 3 s), beside the same load
     on an idle server: with the 5 tabs moved to another page, and with all 5 live on this machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


# ----------------------------------------------------------------------------- a server

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run <script>` on a loopback port (a free one unless given), as a fresh process."""

    def __init__(self, script: str | Path, cwd: Path = REPO, port: int | None = None):
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile("w", prefix="bench_app_", suffix=".log", delete=False)
        env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 60) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.02)
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited: see {self.log.name}")
        raise RuntimeError(f"streamlit not healthy after {timeout} s: see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        os.unlink(self.log.name)


def _painted(page, text: str | None, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector(READY, timeout=timeout_ms)
    if text:
        page.get_by_text(text).first.wait_for(timeout=timeout_ms)


# ----------------------------------------------------------------------------- 1. cold start

def cold_start(browser, script: Path, text: str, port: int, context=None, cwd: Path = REPO) -> tuple[float, float]:
    """Seconds from spawning the server to Home's first finished paint: (healthy, painted).

    context=None opens a fresh browser context (empty HTTP cache: a first visit ever); pass a
    context that has opened the app before on the same port to reuse its cached static files
    (Streamlit serves them as immutable), as a teacher's browser does after restarting the app.
    """
    server = Server(script, cwd, port)
    own = context is None
    try:
        healthy = server.wait_healthy()
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}) if own else context
        page = ctx.new_page()
        page.goto(server.url + "/")
        _painted(page, text)
        painted = time.perf_counter() - server.started
        page.close()
        if own:
            ctx.close()
        return healthy, painted
    finally:
        server.stop()


def bench_cold_start(browser, reps: int) -> None:
    """Ours and the one-line app alternate, start after start, so a slow minute of a shared machine
    slows both; each figure is the median of its runs (with the quartiles: one start varies by ±0.3 s
    here), the ratio that of the medians."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        hello = Path(tmp) / "hello.py"
        hello.write_text("import streamlit as st\nst.title('hello')\n")
        apps = {"baseline": (hello, "hello", Path(tmp)),
                "ours": (REPO / "app" / "main.py", "Diffusion Classroom", REPO)}
        contexts = {name: browser.new_context(viewport={"width": 1400, "height": 1000}) for name in apps}
        for name, (script, text, cwd) in apps.items():
            cold_start(browser, script, text, port, contexts[name], cwd)  # fills that browser cache
        runs = {(name, cache): [] for name in apps for cache in ("fresh", "warm")}
        for _ in range(reps):
            for name, (script, text, cwd) in apps.items():
                runs[name, "fresh"].append(cold_start(browser, script, text, port, None, cwd))
                runs[name, "warm"].append(cold_start(browser, script, text, port, contexts[name], cwd))
        for ctx in contexts.values():
            ctx.close()

    def painted(name, cache):
        return [p for _, p in runs[name, cache]]

    def quartiles(name, cache):
        q1, _, q3 = statistics.quantiles(painted(name, cache), n=4)
        return f"{q1:.2f}–{q3:.2f}"

    med = {key: statistics.median(painted(*key)) for key in runs}
    healthy = {name: statistics.median(h for h, _ in runs[name, "warm"]) for name in apps}
    warm = med["ours", "warm"] / med["baseline", "warm"]
    print(f"1. cold `streamlit run` (fresh process) to the first finished paint of Home, headless chromium "
          f"(medians of {reps} alternating starts each, quartiles in parentheses):")
    print(f"   browser cache warm (app opened before): ours {med['ours', 'warm']:5.2f} s ({quartiles('ours', 'warm')}), "
          f"one-line app {med['baseline', 'warm']:5.2f} s ({quartiles('baseline', 'warm')}) -> {warm:.2f}x   "
          f"(target <= 1.15x: {'OK' if warm <= 1.15 else 'MISSED'})")
    print(f"   empty browser cache (first visit ever): ours {med['ours', 'fresh']:5.2f} s, one-line app "
          f"{med['baseline', 'fresh']:5.2f} s -> {med['ours', 'fresh'] / med['baseline', 'fresh']:.2f}x")
    print(f"   server healthy after: ours {healthy['ours']:.2f} s, one-line app {healthy['baseline']:.2f} s")


# ----------------------------------------------------------------------------- 2. training speed

def _fragment_load(job, run, stop: threading.Event) -> None:
    """What the page's two fragments do while a job trains, at their rates (numbers every 0.5 s;
    loss, per-σ, live samples and speed charts every 1 s): build the charts and serialize them as
    Streamlit does (JSON spec + the rows as an Arrow table)."""
    import json

    import pandas as pd
    import pyarrow as pa

    from app.ui import charts, training_charts
    from models.lab.run import progress_of

    domain = charts.square_domain(run.data.points)
    backdrop = training_charts.samples_rows(run.data.points, "data", 600)
    tick = 0
    while not stop.wait(0.5):
        tick += 1
        snap = progress_of(job)
        history = snap.history or []
        run.loss_floor()  # the numbers row
        if tick % 2:
            continue
        specs = [training_charts.loss_spec(history, run.loss_floor()), training_charts.speed_spec(history)]
        if run.trainer is not None:
            sigmas = [float(s) for s in run.trainer.objective.sigmas]
            specs.append(training_charts.per_sigma_spec(history, sigmas, run.level_floors))
        if snap.preview is not None:
            specs.append(training_charts.samples_spec(snap.preview, backdrop, domain=domain))
        for spec in specs:
            rows = spec.pop("datasets")[training_charts.DATA]
            pa.Table.from_pandas(pd.DataFrame(rows))
            json.dumps(spec)


def bench_training(steps: int, reps: int) -> None:
    from models.core.jobs import JobPool
    from models.lab.datasets import DatasetSpec, training_data
    from models.score.run import N_TRAIN, TrainingRun, new_trainer, training_config, training_job

    config = training_config(steps=steps)
    data = training_data(DatasetSpec.builtin("moons"), N_TRAIN, config.seed)
    pool = JobPool(1)
    new_trainer(data, config).run(steps=50)  # warm-up: imports, allocator
    bare, in_app, in_app_loop = [], [], []
    for _ in range(reps):  # interleaved, so a busy spell on the machine hits both
        trainer = new_trainer(data, config)
        t = time.perf_counter()
        trainer.run()
        bare.append(steps / (time.perf_counter() - t))

        from models.score import floors
        floors._floor_cache.clear()  # a first Train on this data: the floors are computed too
        run = TrainingRun(data=data, config=config)
        t = time.perf_counter()
        job = pool.submit(lambda j: training_job(j, run))
        stop = threading.Event()
        drawer = threading.Thread(target=_fragment_load, args=(job, run, stop), daemon=True)
        drawer.start()
        job.wait()
        stop.set()
        drawer.join()
        if job.state != "done":
            raise RuntimeError(f"training job {job.state}: {job.error}")
        in_app.append(steps / (job.finished - t))         # everything: floors, previews, charts
        in_app_loop.append(steps / run.trainer.state.seconds)  # the loop itself (callbacks excluded)
    b, a, loop = (statistics.median(v) for v in (bare, in_app, in_app_loop))
    print(f"2. training in the app (job pool, live charts, floors, previews), {steps} steps of NCSN on moons:")
    print(f"   bare Trainer.run (baseline)          : {b:7.0f} steps/s")
    print(f"   in the app, end to end               : {a:7.0f} steps/s  -> {a / b:.2f}x  "
          f"(target >= 0.8x: {'OK' if a / b >= 0.8 else 'MISSED'})")
    print(f"   in the app, training loop only       : {loop:7.0f} steps/s  -> {loop / b:.2f}x")
    print("   end-to-end ratio per repetition     : "
          + ", ".join(f"{x / y:.2f}" for x, y in zip(in_app, bare)) + "  (spread = machine noise)")


# ----------------------------------------------------------------------------- 3. load under training

def _load_home(visitor, url: str) -> float:
    """A new session (a new tab of `visitor`, a browser context) opens Home: seconds to the finished paint."""
    page = visitor.new_page()
    t = time.perf_counter()
    page.goto(url + "/")
    _painted(page, "Diffusion Classroom")
    seconds = time.perf_counter() - t
    page.close()
    return seconds


def _load_score_lab(visitor, url: str) -> float:
    """A new session opens Home, then clicks through to the Score lab: seconds for that second page."""
    page = visitor.new_page()
    page.goto(url + "/")
    _painted(page, None)
    t = time.perf_counter()
    page.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
    _painted(page, "Training settings")
    seconds = time.perf_counter() - t
    page.close()
    return seconds


def _start_training(browser, url: str, steps: int):
    """A student's tab: open the Score lab, set the steps, press Train. Returns the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url + "/")
    _painted(page, None)
    page.locator("[data-testid='stSidebarNavLink']", has_text="Score lab").click()
    _painted(page, "Training settings")
    box = page.get_by_role("spinbutton", name="Training steps")
    box.fill(str(steps))
    box.press("Enter")
    _painted(page, None)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("button", name="Stop", exact=True).first.wait_for(timeout=60_000)  # training or in line
    return page


def _go(page, title: str, text: str) -> None:
    page.locator("[data-testid='stSidebarNavLink']", has_text=title).click()
    _painted(page, text)


def _loads(browser, url: str, reps: int) -> dict[str, float]:
    """Median load times: Home in a fresh context (empty cache) and in a returning one; the Score lab."""
    fresh = []
    for _ in range(reps):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        fresh.append(_load_home(ctx, url))
        ctx.close()
    visitor = browser.new_context(viewport={"width": 1400, "height": 1000})
    _load_home(visitor, url)  # fills its cache
    out = {"Home, returning browser": statistics.median(_load_home(visitor, url) for _ in range(reps)),
           "Home, first visit (empty cache)": statistics.median(fresh),
           "Score lab (click from Home)": statistics.median(_load_score_lab(visitor, url) for _ in range(reps))}
    visitor.close()
    return out


def bench_busy_server(browser, sessions: int, reps: int) -> None:
    server = Server(REPO / "app" / "main.py")
    pages = []
    try:
        server.wait_healthy()
        _loads(browser, server.url, 1)  # the first session imports the app's modules: not what we measure
        idle = _loads(browser, server.url, reps)
        pages = [_start_training(browser, server.url, 20_000) for _ in range(sessions)]  # the per-press cap
        # (a) the students' tabs moved on to another page: their sessions and jobs live on,
        #     but nothing is redrawn (in class their browsers run on their own laptops anyway)
        for page in pages:
            _go(page, "Home", "Diffusion Classroom")
        time.sleep(2)
        away = _loads(browser, server.url, reps)
        # (b) every tab live on the Score lab, redrawn by its fragments, on this same machine
        for page in pages:
            _go(page, "Score lab", "Training settings")
        time.sleep(2)
        live = _loads(browser, server.url, reps)
    finally:
        for page in pages:
            page.context.close()
        server.stop()
    print(f"3. page loads while {sessions} sessions train (the pool runs {max(1, (os.cpu_count() or 2) // 2)} "
          "job(s) at a time, the rest wait in line):")
    print(f"   {'':34s} {'idle':>7s} {'tabs away':>10s} {'tabs live':>10s}   (live / idle)")
    for name in idle:
        print(f"   {name:34s} {idle[name]:6.2f}s {away[name]:9.2f}s {live[name]:9.2f}s   "
              f"({live[name] / idle[name]:.2f}x)")
    for label, d in (("tabs away", away), ("tabs live", live)):
        worst = max(d["Home, returning browser"], d["Score lab (click from Home)"])
        print(f"   target <= 3 s (returning browser), {label}: {'OK' if worst <= 3 else 'MISSED'} ({worst:.2f} s)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement (median)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps for part 2")
    parser.add_argument("--sessions", type=int, default=5, help="training browser sessions for part 3")
    parser.add_argument("--parts", default="123", help="which parts to run, e.g. 2 or 13")
    args, _ = parser.parse_known_args(argv)
    print(f"# bench_app ({os.cpu_count()} CPU cores)")
    if "2" in args.parts:
        bench_training(args.steps, args.reps)
    if "1" in args.parts or "3" in args.parts:
        if not Path(CHROMIUM).exists():
            print(f"# parts 1 and 3 need {CHROMIUM}: skipped")
            return
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                if "1" in args.parts:
                    bench_cold_start(browser, args.reps)
                if "3" in args.parts:
                    bench_busy_server(browser, args.sessions, args.reps)
            finally:
                browser.close()


if __name__ == "__main__":
    main()
