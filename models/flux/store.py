"""Generated images on disk: one PNG per GenerationParams.cache_key(), parameters inside the PNG.

Each PNG carries two text chunks:
    parameters          AUTOMATIC1111's format, so other tools (and people) can read it:
                        "<prompt>\\nSteps: 4, Sampler: flow-match euler, CFG scale: 0, Seed: 42, Size: 1024x1024, Model: ..."
    diffusion_classroom JSON with everything (params, prompt id, demo flag, truncated tokens, time)
read_metadata() reads ours, or parses an A1111 `parameters` chunk written by any other tool.

Writes are atomic (temp file in the same folder + os.replace): a reader never sees half a PNG.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.core.atomic import atomic_file, atomic_folder, write_synced
from models.flux.params import STEPS_MAX, GenerationParams
from models.flux.tiny import TINY_MODEL_ID

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

DEMO_LABEL = "demo pipeline — random weights, not FLUX output"
JSON_KEY = "diffusion_classroom"
A1111_KEY = "parameters"
SAMPLER = "flow-match euler"
METADATA_VERSION = 1
TIMELINE_SUFFIX = ".steps"  # <cache_key>.steps/: the image's metadata folder (its step timeline)
TIMELINE_INDEX = "timeline.json"
# What one image's timeline may cost to read: one frame per step at most, small files only (a
# 100,000-entry timeline.json was drawn for minutes; a linked or corrupt frame crashed the dialog).
MAX_TIMELINE_INDEX_BYTES = 64 * 1024
MAX_FRAME_BYTES = 4 * 2**20


# ----------------------------------------------------------------------------- A1111 text


def _fmt_number(x: float) -> str:
    """0.0 -> "0", 3.5 -> "3.5" (A1111 writes CFG scale without a trailing .0)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def a1111_parameters(params: GenerationParams, size: tuple[int, int] | None = None) -> str:
    """The AUTOMATIC1111-style `parameters` text for `params`; `size`: the size actually drawn when it
    differs from the one asked (the demo pipeline draws at most 256 px): the text describes the picture."""
    width, height = size or (params.width, params.height)
    return (
        f"{params.prompt}\n"
        f"Steps: {params.steps}, Sampler: {SAMPLER}, CFG scale: {_fmt_number(params.guidance_scale)}, "
        f"Seed: {params.seed}, Size: {width}x{height}, Model: {params.model_id}"
        + (f", Model revision: {params.revision}" if params.revision else "")
        + f", Max sequence length: {params.max_sequence_length}"
    )


# "Key: value" pairs of A1111's last line; a value is either "quoted, with commas" or runs to the next comma.
_KV = re.compile(r'\s*([\w][\w \-/().]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def _parse_kv_line(line: str) -> dict[str, str] | None:
    """Parse "Steps: 4, Sampler: x, ..." into a dict, or None if `line` is not such a line."""
    pairs: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        m = _KV.match(line, pos)
        if not m or m.end() == pos:
            return None
        key, value = m.group(1).strip(), m.group(2).strip()
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            try:
                value = json.loads(value)
            except ValueError:
                value = value[1:-1]
        pairs[key] = value
        pos = m.end()
    return pairs if len(pairs) >= 2 or "Steps" in pairs else None


def _to_int(text: Any) -> int | None:
    try:
        return int(str(text).strip())
    except ValueError:
        return None


def _to_float(text: Any) -> float | None:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


def parse_a1111(text: str) -> dict:
    """Parse an AUTOMATIC1111 `parameters` text (ours or another tool's).

    Returns prompt, negative_prompt, seed, steps, width, height, guidance_scale, model_id, sampler,
    revision, max_sequence_length (None when absent) and `extra` (every other key, as text).
    A prompt may contain commas and newlines; only the last line holds the key/value pairs.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    kv: dict[str, str] = {}
    if lines and (parsed := _parse_kv_line(lines[-1].strip())) is not None:
        kv = parsed
        lines = lines[:-1]
    prompt_lines: list[str] = []
    negative_lines: list[str] | None = None
    for line in lines:
        if negative_lines is None and line.startswith("Negative prompt:"):
            negative_lines = [line[len("Negative prompt:"):].strip()]
        elif negative_lines is not None:
            negative_lines.append(line)
        else:
            prompt_lines.append(line)

    width = height = None
    if "Size" in kv:
        m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", kv["Size"])
        if m:
            width, height = int(m.group(1)), int(m.group(2))
    known = {"Steps", "Sampler", "CFG scale", "Seed", "Size", "Model", "Model revision", "Max sequence length"}
    return {
        "prompt": "\n".join(prompt_lines).strip(),
        "negative_prompt": "\n".join(negative_lines).strip() if negative_lines is not None else None,
        "seed": _to_int(kv.get("Seed", "")),
        "steps": _to_int(kv.get("Steps", "")),
        "width": width,
        "height": height,
        "guidance_scale": _to_float(kv.get("CFG scale", "")),
        "model_id": kv.get("Model") or None,
        "revision": kv.get("Model revision") or None,
        "max_sequence_length": _to_int(kv.get("Max sequence length", "")),
        "sampler": kv.get("Sampler") or None,
        "extra": {k: v for k, v in kv.items() if k not in known},
    }


# ----------------------------------------------------------------------------- reading metadata


def _png_text(source: str | os.PathLike | bytes) -> dict[str, str]:
    from PIL import Image

    fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    with Image.open(fp) as im:
        # Our chunks precede the pixel data, so `info` has them without decoding the image;
        # other tools may put text after it, which `text` finds.
        info = {k: v for k, v in im.info.items() if isinstance(v, str)}
        if JSON_KEY not in info and A1111_KEY not in info:
            info.update(getattr(im, "text", {}) or {})
        return info


def png_parameters(source: str | os.PathLike | bytes) -> str | None:
    """The PNG's A1111 `parameters` text as written in the file (None when it has none)."""
    return _png_text(source).get(A1111_KEY)


def read_metadata(source: str | os.PathLike | bytes) -> dict:
    """The generation parameters stored in a PNG (a path or the file's bytes).

    Always has the keys prompt, seed, steps, width, height, guidance_scale, max_sequence_length,
    model_id, revision (None when unknown), is_demo, prompt_id, truncated_tokens, created and
    `source`: "diffusion_classroom" (our JSON chunk), "a1111" (a parameters chunk) or "none".
    """
    text = _png_text(source)
    base = {k: None for k in ("prompt", "seed", "steps", "width", "height", "guidance_scale",
                              "max_sequence_length", "model_id", "revision", "prompt_id", "created")}
    base.update(is_demo=False, truncated_tokens=0, source="none")
    if JSON_KEY in text:
        try:
            data = json.loads(text[JSON_KEY])
        except ValueError:
            data = None
        if isinstance(data, dict):
            out = dict(base)
            out.update(data.get("extra") or {})
            out.update(data.get("params") or {})
            for key in ("prompt_id", "is_demo", "truncated_tokens", "created", "cache_key"):
                if key in data:
                    out[key] = data[key]
            out["source"] = JSON_KEY
            return out
    if A1111_KEY in text:
        out = dict(base)
        parsed = parse_a1111(text[A1111_KEY])
        out.update(parsed)
        out["is_demo"] = parsed.get("model_id") == TINY_MODEL_ID
        out["source"] = "a1111"
        return out
    return base


def params_from_metadata(meta: dict) -> GenerationParams:
    """GenerationParams to regenerate an image from its metadata ("recall"); missing fields take defaults.

    Raises ValueError when there is no prompt or seed to recall.
    """
    if not meta.get("prompt") or meta.get("seed") is None:
        raise ValueError("This image carries no prompt and seed to recall.")
    data = {k: v for k, v in meta.items() if v is not None}
    return GenerationParams.from_dict(data)


# ----------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class StoredImage:
    """An image file in the store and its metadata (see read_metadata)."""

    path: Path
    metadata: dict
    mtime: float

    @property
    def is_demo(self) -> bool:
        return bool(self.metadata.get("is_demo"))

    @property
    def prompt_id(self) -> str | None:
        return self.metadata.get("prompt_id")

    @property
    def prompt(self) -> str | None:
        return self.metadata.get("prompt")

    @property
    def label(self) -> str | None:
        """DEMO_LABEL for demo images, else None: show it under every demo image."""
        return DEMO_LABEL if self.is_demo else None

    def params(self) -> GenerationParams:
        return params_from_metadata(self.metadata)


@dataclass(frozen=True)
class TimelineEntry:
    """One step of an image's timeline on disk: the decoded x̂₀ after that step (models/flux/timeline.py)."""

    step: int
    t: float
    path: Path


# A save's temp file (models.core.atomic: ".<key>.png.<random>.tmp") older than this was left by a process
# that died mid-save (kill -9, power cut): a PNG write takes well under a second.
ORPHAN_AGE_S = 600
_cleaned_roots: set[Path] = set()  # each folder is swept once per process
_cleaned_lock = threading.Lock()


def remove_orphaned_temp_files(root: Path, older_than_s: float = ORPHAN_AGE_S) -> list[Path]:
    """Delete the hidden temp PNGs a killed save left in `root` (only files named like ours, only old ones)."""
    removed = []
    cutoff = time.time() - older_than_s
    for path in root.glob(".*.png.*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # removed meanwhile by another process's sweep
            continue
    return removed


class ImageStore:
    """A folder of generated PNGs named <cache_key>.png (created on first save).

    Opening a store sweeps away temp files an earlier, killed process left behind (once per folder
    per process); `find` never lists them either way.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser()
        self._meta_cache: dict[Path, tuple[int, int, dict | Exception]] = {}
        self._lock = threading.Lock()
        with _cleaned_lock:
            first = self.root.resolve() not in _cleaned_roots
            _cleaned_roots.add(self.root.resolve())
        if first and self.root.is_dir():
            remove_orphaned_temp_files(self.root)

    def path_for(self, params: GenerationParams) -> Path:
        return self.root / f"{params.cache_key()}.png"

    def get(self, params: GenerationParams) -> Path | None:
        """The PNG for `params` if it was already generated, else None."""
        path = self.path_for(params)
        return path if path.is_file() else None

    def save(self, image: "Image.Image", params: GenerationParams, extra: dict | None = None,
             timeline: list | None = None) -> Path:
        """Write `image` as <cache_key>.png with both metadata chunks, atomically; return its path.

        `extra` goes into the JSON chunk (prompt_id, is_demo, truncated_tokens, seconds, ...).
        `timeline` (TimelineFrame list, models/flux/timeline.py) is written first, as the image's
        metadata folder <cache_key>.steps/, whole or not at all: a PNG never points at half a timeline.
        """
        if timeline:
            self._save_timeline(params.cache_key(), timeline)
        from PIL.PngImagePlugin import PngInfo

        extra = dict(extra or {})
        record = {
            "version": METADATA_VERSION,
            "params": params.to_dict(),
            "cache_key": params.cache_key(),
            "prompt_id": extra.pop("prompt_id", None),
            "is_demo": bool(extra.pop("is_demo", params.is_demo)),
            "truncated_tokens": int(extra.pop("truncated_tokens", 0) or 0),
            "created": extra.pop("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            "extra": extra,
        }
        if record["is_demo"]:
            record["label"] = DEMO_LABEL
        info = PngInfo()
        drawn = extra.get("rendered_size")
        drawn = tuple(drawn) if isinstance(drawn, (list, tuple)) and len(drawn) == 2 else None
        info.add_text(A1111_KEY, a1111_parameters(params, drawn))
        info.add_text(JSON_KEY, json.dumps(record, ensure_ascii=False))

        self.root.mkdir(parents=True, exist_ok=True)
        final = self.path_for(params)
        with atomic_file(final, "wb") as f:
            image.save(f, format="PNG", pnginfo=info)
        return final

    def timeline_folder(self, path: str | os.PathLike) -> Path:
        """The metadata folder of the image at `path`: <cache_key>.steps/ beside it."""
        path = Path(path)
        return path.with_name(path.stem + TIMELINE_SUFFIX)

    def _save_timeline(self, key: str, frames: list) -> None:
        entries = []
        with atomic_folder(self.root / f"{key}{TIMELINE_SUFFIX}") as tmp:
            for frame in frames:
                name = f"step{frame.step:02d}.png"  # lossless: JPEG visibly smears the demo's noise
                out = io.BytesIO()
                frame.image.convert("RGB").save(out, format="PNG", compress_level=1)  # fast; still small
                write_synced(tmp / name, out.getvalue())
                entries.append({"step": frame.step, "t": round(float(frame.t), 6), "file": name})
            write_synced(tmp / TIMELINE_INDEX, json.dumps({"version": 1, "frames": entries}, indent=1).encode())

    def timeline(self, path: str | os.PathLike) -> list[TimelineEntry]:
        """The step timeline kept for the image at `path` (empty for an image made without one).

        Only what this store wrote is read: the index and the frames must be regular files inside the
        image's own folder (never a link), the index at most MAX_TIMELINE_INDEX_BYTES, at most one frame
        per step (STEPS_MAX). An index that breaks these rules gives no timeline at all.
        """
        folder = self.timeline_folder(path)
        raw = _read_regular(folder / TIMELINE_INDEX, MAX_TIMELINE_INDEX_BYTES) if not folder.is_symlink() else None
        if raw is None:
            return []
        try:
            listed = json.loads(raw.decode("utf-8")).get("frames", [])
            frames = [TimelineEntry(step=int(f["step"]), t=float(f["t"]), path=folder / str(f["file"]))
                      for f in listed[:STEPS_MAX] if isinstance(f, dict)]
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError):
            return []
        kept, steps = [], set()
        for frame in frames:
            if frame.path.parent != folder or frame.step in steps or not 1 <= frame.step <= STEPS_MAX:
                continue
            try:
                info = frame.path.lstat()  # a link is not one of this image's frames
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_size <= MAX_FRAME_BYTES:
                kept.append(frame)
                steps.add(frame.step)
        return kept

    def frame_bytes(self, entry: TimelineEntry) -> bytes | None:
        """A timeline frame's PNG bytes, or None when it is not a readable PNG of this store (corrupt,
        replaced by a link, too big): a page shows it, or says it cannot."""
        data = _read_regular(entry.path, MAX_FRAME_BYTES)
        if data is None:
            return None
        try:
            from PIL import Image

            with Image.open(io.BytesIO(data)) as im:
                if im.format != "PNG" or max(im.size) > 4096:
                    return None
                im.verify()
        except Exception:  # PIL raises many kinds for a damaged file
            return None
        return data

    def metadata(self, path: str | os.PathLike) -> dict:
        """read_metadata(path), cached until the file's mtime or size changes."""
        path = Path(path)
        st = path.stat()
        with self._lock:
            hit = self._meta_cache.get(path)
        if hit is None or hit[0] != st.st_mtime_ns or hit[1] != st.st_size:
            try:
                value: dict | Exception = read_metadata(path)
            except (OSError, ValueError, SyntaxError) as exc:  # not a readable PNG: remember that too
                value = exc
            hit = (st.st_mtime_ns, st.st_size, value)
            with self._lock:
                self._meta_cache[path] = hit
        if isinstance(hit[2], Exception):
            raise hit[2]
        return hit[2]

    def find(self, prompt: str | None = None, prompt_id: str | None = None) -> list[StoredImage]:
        """Images in the store, newest first, optionally only those of one prompt text or prompt id."""
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.glob("*.png"):
            if path.name.startswith("."):  # a temp file of a write in progress
                continue
            try:
                mtime = path.stat().st_mtime
                meta = self.metadata(path)
            except (OSError, ValueError, SyntaxError):  # deleted meanwhile, or not a readable PNG
                continue
            if prompt is not None and meta.get("prompt") != prompt:
                continue
            if prompt_id is not None and meta.get("prompt_id") != prompt_id:
                continue
            found.append(StoredImage(path=path, metadata=meta, mtime=mtime))
        found.sort(key=lambda s: (s.mtime, s.path.name), reverse=True)
        return found

    def delete(self, path: str | os.PathLike) -> None:
        """Delete one image of this store (refuses paths outside it)."""
        path = Path(path).resolve()
        if path.parent != self.root.resolve() or path.suffix != ".png":
            raise ValueError(f"{path} is not an image of the store {self.root}")
        path.unlink(missing_ok=True)
        shutil.rmtree(self.timeline_folder(path), ignore_errors=True)
        with self._lock:
            for key in [k for k in self._meta_cache if k.resolve() == path]:
                del self._meta_cache[key]


def thumbnail(path: str | os.PathLike, size: int = 256) -> bytes:
    """A JPEG thumbnail (longest side `size`) of the image at `path`, cached per file version."""
    st = os.stat(path)
    return _thumbnail(str(Path(path).resolve()), st.st_mtime_ns, st.st_size, int(size))


@lru_cache(maxsize=512)
def _thumbnail(path: str, mtime_ns: int, file_size: int, size: int) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        resample = Image.Resampling.NEAREST if max(im.size) <= size // 2 else Image.Resampling.LANCZOS
        if max(im.size) != size:
            scale = size / max(im.size)
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), resample)
        out = io.BytesIO()
        im.save(out, format="JPEG", quality=85)
        return out.getvalue()


def _read_regular(path: Path, limit: int) -> bytes | None:
    """The bytes of `path` when it is a regular file (not a link, a device, a pipe) of at most `limit`
    bytes; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data if len(data) <= limit else None
