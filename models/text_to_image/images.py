"""8×8 digits as PNG pictures: dark ink on white, enlarged with hard pixel edges (nearest neighbour).

Arrays in, bytes out (numpy only), so the CLI and the page draw digits the same way.
"""

from __future__ import annotations

import io
import math

import numpy as np

TILE = 8       # each 8×8 digit is drawn 8× larger by default (64 × 64 pixels)
GAP = 2
GAP_GREY = 200


def _ink(images) -> np.ndarray:
    a = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    a = np.clip(np.nan_to_num(a.astype(np.float32), nan=0.0), 0, 1).reshape(-1, 8, 8)
    return ((1 - a) * 255).round().astype(np.uint8)


def grid_png(images, *, cols: int | None = None, tile: int = TILE) -> bytes:
    """The images (n, 8, 8) in [0, 1] (0 = background) as one PNG grid, near-square unless `cols` is given."""
    from PIL import Image

    ink = _ink(images)
    n = max(len(ink), 1)
    cols = max(1, min(cols or math.ceil(math.sqrt(n)), n))
    rows = math.ceil(n / cols)
    side = 8 * tile
    canvas = np.full((rows * (side + GAP) + GAP, cols * (side + GAP) + GAP), GAP_GREY, dtype=np.uint8)
    for i, img in enumerate(ink):
        r, c = divmod(i, cols)
        y, x = GAP + r * (side + GAP), GAP + c * (side + GAP)
        canvas[y:y + side, x:x + side] = np.kron(img, np.ones((tile, tile), dtype=np.uint8))
    buf = io.BytesIO()
    Image.fromarray(canvas, mode="L").save(buf, format="PNG")
    return buf.getvalue()
