"""Silence transformers/diffusers chatter (progress bars, optional-dependency notes) for the UI and CLI.

Its own module because both the tiny demo (tiny.py) and the loader (loading.py) need it, and the
loader already imports the tiny demo.
"""

import logging
import os


def quiet_libraries() -> None:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import diffusers.utils.logging as dlog
    import transformers.utils.logging as tlog

    for lib in (dlog, tlog):
        lib.set_verbosity_error()
        lib.disable_progress_bar()
    logging.getLogger("accelerate").setLevel(logging.ERROR)
