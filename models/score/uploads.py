"""Uploaded CSVs kept on disk: `DatasetSpec.csv` needs a path, and a run must find its data again."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from models.atomic import atomic_write_bytes

UPLOAD_DIR = Path(tempfile.gettempdir()) / "diffusion-classroom-uploads"


def save_upload(name: str, content: bytes, folder: Path = UPLOAD_DIR) -> Path:
    """Write an upload atomically under a folder named by its content hash (same file → same path)."""
    digest = hashlib.sha1(content).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name).lstrip(".") or "points.csv"
    path = folder / digest / safe
    if not path.exists():
        atomic_write_bytes(path, content)
    return path
