"""Home's line on this machine's devices, with torch imported in the background after Home has painted."""

from __future__ import annotations

import sys
import threading
import time

_torch_ready = threading.Event()
_torch_lock = threading.Lock()
_first_asked_at: float | None = None  # when Home first asked (the import waits for its first paint)
TORCH_IMPORT_DELAY_S = 2.5  # a cold import holds the GIL for seconds: not while the browser still fetches and paints Home


def _import_torch() -> None:
    import torch  # noqa: F401  (the import is the work)

    _torch_ready.set()


def device_summary() -> str | None:
    """One Markdown line on the devices, or None while torch is still being imported."""
    if not _torch_ready.is_set():
        if "torch" in sys.modules and hasattr(sys.modules["torch"], "cuda"):
            _torch_ready.set()  # already imported by another page
        else:
            global _first_asked_at
            with _torch_lock:
                if _first_asked_at is None:
                    _first_asked_at = time.monotonic()
                if time.monotonic() - _first_asked_at < TORCH_IMPORT_DELAY_S:
                    return None  # asked again by the line's fragment, after the page has painted
                if not any(t.name == "import-torch" for t in threading.enumerate()):
                    threading.Thread(target=_import_torch, name="import-torch", daemon=True).start()
            if not _torch_ready.wait(0.05):
                return None
    from models.core.devices import device_summary as summary

    return summary()
