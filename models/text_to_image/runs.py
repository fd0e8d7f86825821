"""A trained text-to-image model on disk: model.safetensors + config.json + losses.csv, as a folder or a zip.

config.json says `"kind": "text-to-image"` and holds the training settings, the steps trained, the
training CPU time, the CLIP ids seen in training captions and the weights' SHA-256. Everything read
back is size-capped and checked before a model is built; a bad file is an InputError (one line).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from models.core.atomic import recover_folder
from models.core.reading import read_bounded
from models.core.clip_tokenizer import VOCAB_SIZE
from models.core.errors import InputError
from models.lab import run_folder

from .train import TrainConfig, Trained, new_model

FORMAT_VERSION = 1
KIND = "text-to-image"
RUN_FILES = ("model.safetensors", "config.json", "losses.csv")
MAX_CONFIG_BYTES = 2_000_000
MAX_WEIGHTS_BYTES = 120_000_000  # the widest model the limits allow (a 256-d embedding of 49,408 tokens) is ~60 MB
MAX_LOSSES_BYTES = 20_000_000
MAX_ZIP_BYTES = MAX_CONFIG_BYTES + MAX_WEIGHTS_BYTES + MAX_LOSSES_BYTES  # the three, stored uncompressed
MAX_HISTORY_ROWS = 100_000


def run_files(run: Trained) -> dict[str, bytes]:
    weights = run_folder.weights_bytes(run.model)
    config = {"format_version": FORMAT_VERSION, "kind": KIND, "train": run.config.to_dict(),
              "steps_trained": int(run.steps_trained), "cpu_seconds": float(run.cpu_seconds),
              "seen_token_ids": list(run.seen_ids), "weights_sha256": run_folder.weights_digest(weights)}
    files = {"model.safetensors": weights, "config.json": json.dumps(config, indent=1).encode()}
    if run.history:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["step", "loss", "cpu_seconds"])
        for row in run.history:
            w.writerow([row["step"], f"{row['loss']:.6g}", f"{row['cpu_seconds']:.3f}"])
        files["losses.csv"] = buf.getvalue().encode()
    return files


def save_run(directory: str | Path, run: Trained) -> Path:
    """Written whole into a hidden sibling folder, then renamed into place: never half a run."""
    return run_folder.write_run_folder(directory, run_files(run))


def run_zip_bytes(run: Trained) -> bytes:
    return run_folder.zip_bytes(run_files(run))


# ----------------------------------------------------------------------------- reading back

CAPS = {"config.json": MAX_CONFIG_BYTES, "model.safetensors": MAX_WEIGHTS_BYTES, "losses.csv": MAX_LOSSES_BYTES}


def load_run(directory: str | Path) -> Trained:
    d = Path(directory)
    recover_folder(d)  # a replace of this run killed half way is undone first
    if not d.is_dir():
        raise InputError(f"run directory not found: {d}")
    files = {}
    for name in RUN_FILES:
        p = d / name
        if p.exists() or p.is_symlink():
            files[name] = read_bounded(p, CAPS[name], "file of an 8×8 digit model")
        elif name != "losses.csv":
            raise InputError(f"{p} is missing: this does not look like a trained text-to-image run (train one first)")
    return from_files(files, str(d))


def load_run_zip(content: bytes, name: str = "uploaded file") -> Trained:
    if len(content) > MAX_ZIP_BYTES:
        raise InputError(f"{name} is larger than {MAX_ZIP_BYTES // 1_000_000} MB: not a saved text-to-image run")
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
        infos = {i.filename: i for i in zf.infolist()}
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InputError(f"{name} is not a zip file") from None
    files = {}
    for member in RUN_FILES:
        info = infos.get(member)
        if info is None:
            if member == "losses.csv":
                continue
            raise InputError(f"{name} has no {member}: it is not a saved text-to-image run")
        if info.file_size > CAPS[member]:
            raise InputError(f"{name}: {member} is too large to belong to an 8×8 digit model")
        try:
            with zf.open(info) as f:
                data = f.read(CAPS[member] + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
            raise InputError(f"{name}: {member} cannot be read ({exc})") from None
        if len(data) > CAPS[member]:
            raise InputError(f"{name}: {member} is too large to belong to an 8×8 digit model")
        files[member] = data
    return from_files(files, name)


def _whole(v, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def from_files(files: dict[str, bytes], label: str) -> Trained:
    """The run of these file contents, every field checked before the model is built."""
    try:
        cfg = json.loads(files["config.json"])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(f"{label}: config.json is not JSON") from None
    if not isinstance(cfg, dict) or cfg.get("kind") != KIND:
        raise InputError(f"{label} is not a text-to-image run (config.json kind is {str(cfg.get('kind') if isinstance(cfg, dict) else None)[:40]!r})")
    if cfg.get("format_version") != FORMAT_VERSION:
        raise InputError(f"{label}: unknown format_version {str(cfg.get('format_version'))[:20]} (this app reads {FORMAT_VERSION})")
    config = TrainConfig.from_dict(cfg.get("train"))
    steps, seconds, seen = cfg.get("steps_trained"), cfg.get("cpu_seconds"), cfg.get("seen_token_ids")
    if not _whole(steps, 0, 2**63 - 1):
        raise InputError(f"{label}: steps_trained must be a whole number ≥ 0")
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"{label}: cpu_seconds must be a number ≥ 0")
    if not isinstance(seen, list) or len(seen) > VOCAB_SIZE or not all(_whole(i, 0, VOCAB_SIZE - 1) for i in seen):
        raise InputError(f"{label}: seen_token_ids must be a list of CLIP ids (0–{VOCAB_SIZE - 1})")
    weights = files["model.safetensors"]
    if hashlib.sha256(weights).hexdigest() != cfg.get("weights_sha256"):
        raise InputError(f"{label}: model.safetensors is not the file its config.json was saved with "
                         "(a torn or mixed run): save or train the run again")
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{label}: model.safetensors is truncated or corrupt ({exc})") from None
    model = new_model(config)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        lines = [s.strip() for s in str(exc).strip().splitlines() if s.strip()]
        raise InputError(f"{label}: the weights do not match the config ({(lines[1:] or lines or [''])[0][:200]})") from None
    model.eval().requires_grad_(False)
    return Trained(model=model, config=config, seen_ids=tuple(sorted(set(seen))),
                   history=read_losses(files.get("losses.csv", b"")), steps_trained=steps, cpu_seconds=float(seconds))


def read_losses(data: bytes) -> list[dict]:
    """losses.csv back into history rows; unreadable rows are skipped (the chart is a view, not a check)."""
    rows = []
    for row in csv.DictReader(io.StringIO(data.decode("utf-8", errors="replace"))):
        try:
            item = {"step": int(row["step"]), "loss": float(row["loss"]), "cpu_seconds": float(row["cpu_seconds"])}
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(item["loss"]) and math.isfinite(item["cpu_seconds"]):
            rows.append(item)
        if len(rows) >= MAX_HISTORY_ROWS:
            break
    return rows
