"""A classroom on one laptop: 20 sessions at once, 5 of them training in the Score lab; then 30 pressing Train.

Measures, against a baseline from the same run:
  * page loads of the 15 other sessions (Home, Score lab, Langevin, Forward noising) while the
    5 train: p50 / p95 seconds from asking for the page to the server's "script finished";
    each visitor opens a new session (a new tab) every round of four pages;
  * training throughput: the 5 runs share the job pool (one job at a time on 2 cores), so
    what matters is steps/s between them, against ONE session training alone;
  * isolation: every training tab shows its own run (its own step count) and its own ?run= id;
  * a rush (`--rush`, on by default): 30 sessions press Train (1,000 steps) within 10 s. Every run must
    finish, none starve (the line is first come, first served), and the last finish within
    1.2 × (30 ÷ workers) × one run alone, measured the same way in the same run. Each prints its
    finish time. These 30 speak the websocket protocol too, and press Train as the page's button does;
    they rerun the page's live fragment when the server asks (as a browser would) until the results show.

The 5 trainers are real headless-chromium tabs kept on the Score lab (their live fragments
redraw while they train, the heavier case). The 15 visitors speak Streamlit's own websocket
protocol (`BackMsg` / `ForwardMsg`): 15 more chromium renderers on the same 2 cores would
measure the browsers, not the server, while in class they run on the students' laptops.
Everything is on loopback. `python -m benchmarks bench_classroom` or `make bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time

from benchmarks.bench_app import CHROMIUM, CHROMIUM_ARGS, READY, REPO, Server

TRAINERS = 5
VISITORS = 15
STEPS = 2000
THINK_S = 3.0  # seconds a visitor looks at a page before the next click
PAGES = [("Home", "Diffusion Classroom"), ("Score lab", "Training settings"),
         ("Langevin vs annealed", "The toy experiment of the NCSN paper"), ("Forward noising", "Forward noising and Tweedie")]


async def _painted(page, text: str | None, timeout_ms: int = 120_000) -> None:
    await page.wait_for_selector(READY, timeout=timeout_ms)
    if text:
        await page.get_by_text(text).first.wait_for(timeout=timeout_ms)


async def _open(browser, url: str, title: str | None = None):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url + "/", timeout=120_000)
    await _painted(page, "Diffusion Classroom")
    if title:
        await _go(page, title, dict(PAGES)[title])
    return page


async def _go(page, title: str, text: str) -> float:
    t = time.perf_counter()
    await page.locator("[data-testid='stSidebarNavLink']", has_text=title).first.click()
    await page.wait_for_timeout(100)  # let the rerun start before waiting for it to finish
    await _painted(page, text)
    return time.perf_counter() - t


async def _train(page, steps: int) -> float:
    """Set the steps, press Train, wait for the results: seconds from the click to the finished run."""
    box = page.get_by_role("spinbutton", name="Training steps")
    await box.fill(str(steps))
    await box.press("Enter")
    await _painted(page, None)
    t = time.perf_counter()
    await page.get_by_role("button", name="Train", exact=True).first.click()
    await page.get_by_text("What the model learned").first.wait_for(timeout=600_000)
    return time.perf_counter() - t


async def _own_run(page, steps: int) -> tuple[bool, str]:
    caption = await page.get_by_text(re.compile(r"^Model: ")).first.inner_text()
    run_id = re.search(r"[?&]run=([^&]+)", page.url)
    return f"{steps:,} steps" in caption, run_id.group(1) if run_id else ""


VISITOR_PAGES = ["", "score_lab", "langevin", "forward_noising"]  # url paths ("" is Home)
RUSH_SESSIONS = 30
RUSH_STEPS = 1000
RUSH_WINDOW_S = 10.0
FINISHED = b"What the model learned"  # the results' heading: the run is done and drawn


async def _load(ws, page_name: str) -> float:
    """Ask for a page over the websocket; seconds until the server says the script finished."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.page_name = page_name
    t = time.perf_counter()
    await ws.send(msg.SerializeToString())
    while True:
        reply = ForwardMsg()
        reply.ParseFromString(await ws.recv())
        if reply.WhichOneof("type") == "script_finished":
            return time.perf_counter() - t


async def _visitor(url: str, stop: asyncio.Event, loads: list[float]) -> None:
    from websockets.asyncio.client import connect

    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    while not stop.is_set():
        async with connect(stream, subprotocols=["streamlit"], max_size=None) as ws:  # a new tab
            for page_name in VISITOR_PAGES:
                loads.append(await _load(ws, page_name))
                await asyncio.sleep(THINK_S)  # a student reads a little between clicks


async def classroom(url: str) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # warm-up: the first session imports the pages' modules and fills the caches
        warm = await _open(browser, url)
        for title, text in PAGES[1:]:
            await _go(warm, title, text)
        await warm.context.close()

        # baseline: one session trains alone
        alone = await _open(browser, url, "Score lab")
        single_s = await _train(alone, STEPS)
        await alone.context.close()

        # the class: 15 sessions click around while 5 train (each its own step count)
        trainers = [await _open(browser, url, "Score lab") for _ in range(TRAINERS)]
        stop, loads = asyncio.Event(), []
        visitors = [asyncio.create_task(_visitor(url, stop, loads)) for _ in range(VISITORS)]
        await asyncio.sleep(3)  # everyone is in
        t = time.perf_counter()
        await asyncio.gather(*(_train(page, STEPS + 10 * i) for i, page in enumerate(trainers)))
        class_s = time.perf_counter() - t
        own = [await _own_run(page, STEPS + 10 * i) for i, page in enumerate(trainers)]
        stop.set()
        await asyncio.gather(*visitors)
        await browser.close()
    loads.sort()
    total_steps = sum(STEPS + 10 * i for i in range(TRAINERS))
    return {"single_rate": STEPS / single_s, "class_rate": total_steps / class_s, "class_s": class_s,
            "p50": statistics.median(loads) if loads else 0.0, "p95": loads[int(0.95 * (len(loads) - 1))] if loads
            else 0.0, "loads": len(loads),
            "own_runs": all(ok for ok, _ in own), "distinct_ids": len({i for _, i in own if i}) == TRAINERS}


# ----------------------------------------------------------------------------- the rush: 30 press Train

def _widget_ids(raw: bytes, ids: dict[str, str]) -> None:
    """Remember the element ids of the keyed widgets a ForwardMsg draws ("...-sl_train" → "sl_train")."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = ForwardMsg()
    msg.ParseFromString(raw)
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    widget_id = getattr(getattr(element, kind), "id", "") if kind else ""
    if isinstance(widget_id, str) and widget_id.startswith("$$ID"):
        ids[widget_id.rsplit("-", 1)[-1]] = widget_id


def _rerun(page: str, widgets: dict | None = None, fragment: str = "", page_hash: str = "") -> bytes:
    """A rerun as the browser asks for it (a fragment's rerun names the page by its hash, as it must)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    msg = BackMsg()
    msg.rerun_script.page_name = page
    msg.rerun_script.page_script_hash = page_hash
    if fragment:
        msg.rerun_script.fragment_id = fragment
        msg.rerun_script.is_auto_rerun = True
    for widget_id, value in (widgets or {}).items():
        state = msg.rerun_script.widget_states.widgets.add()
        state.id = widget_id
        if value is True:
            state.trigger_value = True
        else:
            state.int_value = int(value)
    return msg.SerializeToString()


async def _student(url: str, delay_s: float, steps: int) -> dict:
    """A session opens the Score lab, presses Train (steps) after `delay_s`, and follows its live fragment
    until the results are drawn: {"pressed": t, "finished": t or None, "error": ...} (perf_counter times)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    out = {"pressed": None, "finished": None, "error": None}
    async with connect(stream, subprotocols=["streamlit"], max_size=None) as ws:
        ids: dict[str, str] = {}
        page_hash = ""  # the page's own hash, from the runs after the press (the first run names the main script)
        await ws.send(_rerun("score_lab"))
        while True:  # the page as a new tab sees it
            raw = await ws.recv()
            _widget_ids(raw, ids)
            reply = ForwardMsg()
            reply.ParseFromString(raw)
            if reply.WhichOneof("type") == "script_finished":
                break
        await asyncio.sleep(delay_s)
        steps_value = {ids["sl_steps"]: steps}
        out["pressed"] = time.perf_counter()
        await ws.send(_rerun("score_lab", {**steps_value, ids["sl_train"]: True}))
        fragments: dict[str, float] = {}
        next_at: dict[str, float] = {}
        deadline = out["pressed"] + 900
        while time.perf_counter() < deadline:
            now = time.perf_counter()
            for fragment, interval in list(fragments.items()):  # what the browser does for run_every
                if now >= next_at.get(fragment, 0):
                    next_at[fragment] = now + interval
                    await ws.send(_rerun("score_lab", steps_value, fragment, page_hash))
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=0.25)
            except asyncio.TimeoutError:
                continue
            if FINISHED in raw:
                out["finished"] = time.perf_counter()
                return out
            if b"already have a job" in raw or b"Training failed" in raw:
                out["error"] = "refused" if b"already have a job" in raw else "failed"
                return out
            reply = ForwardMsg()
            reply.ParseFromString(raw)
            kind = reply.WhichOneof("type")
            if kind == "new_session":
                page_hash = reply.new_session.page_script_hash
            elif kind == "auto_rerun":
                fragments[reply.auto_rerun.fragment_id] = max(0.2, reply.auto_rerun.interval)
            elif kind == "stop_auto_rerun":
                fragments.clear()
    out["error"] = "timed out"
    return out


async def rush(url: str, sessions: int, steps: int) -> dict:
    """One session alone (the baseline, after a warm-up run that starts the workers), then `sessions`
    pressing Train within RUSH_WINDOW_S."""
    await _student(url, 0.0, steps)
    alone = await _student(url, 0.0, steps)
    if alone["finished"] is None:
        raise RuntimeError(f"the baseline run did not finish: {alone['error']}")
    delays = [RUSH_WINDOW_S * i / max(sessions - 1, 1) for i in range(sessions)]
    results = await asyncio.gather(*(_student(url, d, steps) for d in delays))
    return {"alone_s": alone["finished"] - alone["pressed"], "results": results}


def report_rush(r: dict, workers: int, sessions: int, steps: int) -> None:
    results, alone = r["results"], r["alone_s"]
    first = min(x["pressed"] for x in results)
    finished = [x for x in results if x["finished"] is not None]
    print(f"# bench_classroom rush: {sessions} sessions press Train ({steps:,} steps) within {RUSH_WINDOW_S:.0f} s; "
          f"{workers} job worker{'s' if workers != 1 else ''}; one run alone {alone:.1f} s (same run)")
    order = sorted(range(len(results)), key=lambda i: results[i]["pressed"])
    for rank, i in enumerate(order, 1):
        x = results[i]
        when = f"finished {x['finished'] - first:6.1f} s after the first press ({x['finished'] - x['pressed']:5.1f} s " \
               "after its own)" if x["finished"] is not None else f"DID NOT FINISH ({x['error']})"
        print(f"   session {rank:2d}: pressed at {x['pressed'] - first:4.1f} s, {when}")
    bound = 1.2 * (sessions / workers) * alone
    last = max((x["finished"] - first for x in finished), default=float("inf"))
    inversions = sum(1 for a, b in zip(order, order[1:]) if results[a]["finished"] and results[b]["finished"]
                     and results[b]["finished"] < results[a]["finished"] - 1.0)
    ok = len(finished) == len(results) and last <= bound
    print(f"   every run finished: {'yes' if len(finished) == len(results) else 'NO'} ({len(finished)}/{len(results)}); "
          f"finished out of pressing order by > 1 s: {inversions}")
    print(f"   last finish {last:.1f} s vs 1.2 × ({sessions} ÷ {workers}) × {alone:.1f} s = {bound:.1f} s   "
          f"(target: {'OK' if ok else 'MISSED'})")


def main(argv: list[str] | None = None) -> None:
    global VISITORS, THINK_S, TRAINERS, STEPS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=VISITORS, help="sessions clicking around (websocket)")
    parser.add_argument("--think", type=float, default=THINK_S, help="seconds a visitor waits between clicks")
    parser.add_argument("--trainers", type=int, default=TRAINERS, help="sessions training (browser tabs)")
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps of each of them")
    parser.add_argument("--only", choices=("class", "rush"), help="run one of the two scenarios")
    parser.add_argument("--rush-sessions", type=int, default=RUSH_SESSIONS)
    parser.add_argument("--rush-steps", type=int, default=RUSH_STEPS)
    args, _ = parser.parse_known_args(argv)
    VISITORS, THINK_S, TRAINERS, STEPS = args.visitors, args.think, args.trainers, args.steps
    from models.core.server_settings import max_jobs_from_env

    workers = max_jobs_from_env()
    if args.only != "class":
        server = Server(REPO / "app" / "main.py")
        try:
            server.wait_healthy()
            rushed = asyncio.run(rush(server.url, args.rush_sessions, args.rush_steps))
        finally:
            server.stop()
        report_rush(rushed, workers, args.rush_sessions, args.rush_steps)
    if args.only == "rush":
        return
    server = Server(REPO / "app" / "main.py")
    try:
        server.wait_healthy()
        r = asyncio.run(classroom(server.url))
    finally:
        server.stop()
    ratio = r["class_rate"] / r["single_rate"]
    print(f"# bench_classroom: {TRAINERS + VISITORS} sessions, {TRAINERS} of them (browser tabs) training "
          f"{STEPS} steps each")
    print(f"   page loads of the {VISITORS} other sessions while the {TRAINERS} train ({r['loads']} loads): "
          f"p50 {r['p50']:.2f} s, p95 {r['p95']:.2f} s   (target p95 <= 2 s: {'OK' if r['p95'] <= 2 else 'MISSED'})")
    print(f"   training between the {TRAINERS}: {r['class_rate']:.0f} steps/s ({r['class_s']:.0f} s for all) vs one "
          f"session alone {r['single_rate']:.0f} steps/s -> {ratio:.2f}x   (target >= 0.6x: "
          f"{'OK' if ratio >= 0.6 else 'MISSED'})")
    print(f"   every training tab shows its own run: {'yes' if r['own_runs'] else 'NO'}; "
          f"distinct ?run= ids: {'yes' if r['distinct_ids'] else 'NO'}")


if __name__ == "__main__":
    main()
