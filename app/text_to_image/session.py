"""Text to image, session glue: which run belongs to this browser tab, and the buttons' actions.

The run and its worker live in models/text_to_image/run.py; this file submits it to the shared job
pool. Keeping it in this tab, and finding it again after a reload through the URL (`?run=...`), is
`app.ui.tab_run`'s, as for the Score lab.
"""

from __future__ import annotations

from app.ui.resources import job_pool
from app.ui.sessions import session_id
from app.ui.tab_run import TabRun
from models.text_to_image.run import TextToImageRun, loaded_run
from models.text_to_image.train import TrainConfig

TAB = TabRun("t2i_run", TextToImageRun, cache_key="t2i_cache", cache_limit=32)
current_run, cached, reset, stop_training = TAB.current, TAB.cached, TAB.reset, TAB.stop


def start_training(steps: int, seed: int) -> None:
    """Train a fresh model (this tab's old run, if any, is stopped and dropped)."""
    TAB.check_free()
    reset()
    run = TextToImageRun(TrainConfig(steps=steps, seed=seed))
    run.job = job_pool().submit(run.training_task(), name="text-to-image training", owner=session_id())
    TAB.keep(run)


def load_zip(content: bytes, name: str) -> None:
    """Make a saved run this tab's run (InputError, and the current run kept, when the zip is not one)."""
    run = loaded_run(content, name)
    reset()
    TAB.keep(run)
