"""A trained run on disk, for every 2-D lab model: `model.safetensors` + `config.json` (+ `losses.csv`)
in a folder, or one zip of them.

A run folder is written whole or not at all (`atomic_folder`), and its config.json records
the digest of the weights written with it, so a folder mixed from two saves is refused.
A run may be uploaded by anyone: its files are read with size and row caps, the config's
shared fields are checked here (`checked_common`) and the family's own fields by the family,
all before anything is built; a CSV path named inside an uploaded run is never opened.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as safetensors_bytes

from models.core.atomic import atomic_folder, file_in_the_way, recover_folder, write_synced
from models.core.errors import InputError
from models.core.reading import read_bounded

from .checks import is_whole, number, short_repr
from .datasets import DatasetSpec
from .points_csv import MAX_COORDINATE

RUN_FILES = ("model.safetensors", "config.json", "losses.csv")
MAX_CONFIG_BYTES = 1_000_000     # a real config.json is about 1 kB
MAX_WEIGHTS_BYTES = 50_000_000   # the widest, deepest network the bounds allow is ~30 MB
MAX_LOSS_CSV_BYTES = 50_000_000
MAX_ZIP_BYTES = 110_000_000      # the three files above, stored uncompressed
MAX_HISTORY_ROWS = 100_000       # far more than any run logs (1,000,000 steps at a row per 10)
MAX_LINE_CHARS = 4096            # a losses.csv row of 100 levels is about 1.3 kB
MAX_STEPS_TRAINED = 2**63 - 1
T = TypeVar("T")
MEMBER_LIMITS = {"config.json": MAX_CONFIG_BYTES, "model.safetensors": MAX_WEIGHTS_BYTES,
                 "losses.csv": MAX_LOSS_CSV_BYTES}


# ----------------------------------------------------------------------------- writing

def weights_bytes(network: torch.nn.Module) -> bytes:
    tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    return safetensors_bytes(tensors, metadata={"format": "diffusion-classroom"})


def weights_digest(weights: bytes) -> str:
    return hashlib.sha256(weights).hexdigest()


def check_run_target(directory: str | Path) -> Path:
    """Refuse (InputError) a place a run cannot be saved to without harming anything else.

    A new folder, an empty one or an earlier run may be used (a run is replaced whole);
    a file, a folder under a file, a symbolic link or a folder holding other files is refused.
    Checked when a run is saved, and by the CLI before it trains (not after the whole run).
    """
    d = Path(directory)
    if d.is_symlink():
        raise InputError(f"{d} is a symbolic link: give a plain folder for the run")
    if d.exists() and not d.is_dir():
        raise InputError(f"{d} is a file, not a folder: give a new folder for the run")
    blocker = file_in_the_way(d)
    if blocker is not None:
        raise InputError(f"{blocker} is a file: a run folder cannot be made inside it")
    if d.is_dir():
        others = sorted(p.name for p in d.iterdir() if p.name not in RUN_FILES)
        if others:
            shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
            raise InputError(f"{d} already holds other files ({shown}): give a new or empty folder "
                             "(only an earlier run is replaced)")
    return d


def write_run_folder(directory: str | Path, files: dict[str, bytes]) -> Path:
    """Write the run's files into a hidden sibling folder, then rename it into place (replacing an earlier run).

    A crash mid-save leaves the earlier run as it was (or no run): never a folder with the new
    weights and the old config.
    """
    d = check_run_target(directory)
    try:
        with atomic_folder(d) as tmp:
            for name, data in files.items():
                _write_file(tmp / name, data)
    except OSError as exc:
        raise InputError(f"cannot write the run to {d}: {exc.strerror or exc}") from None
    return d


def _write_file(path: Path, data: bytes) -> None:
    write_synced(path, data)  # a function of its own so a test can make it fail mid-save


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A run's files as one zip, for a download."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return buf.getvalue()


def losses_csv_text(history: list[dict], levels: int) -> str:
    buf = io.StringIO()
    per_sigma = "per_sigma" in history[0]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "loss"] + ([f"sigma_{i + 1}" for i in range(levels)] if per_sigma else []))
    for row in history:
        w.writerow([row["step"], f"{row['loss']:.6g}"] + [f"{v:.6g}" for v in row.get("per_sigma", [])])
    return buf.getvalue()


# ----------------------------------------------------------------------------- reading

def read_run_folder(directory: str | Path) -> tuple[Path, bytes, Path, bytes]:
    """(config path, its bytes, weights path, their bytes) of a run folder, size-capped.

    A replace of this run killed half way is undone first (`recover_folder`); each file must be a
    regular file within its cap (a link to /dev/zero or a pipe is refused, not read).
    """
    d = Path(directory)
    recover_folder(d)
    if not d.is_dir():
        raise InputError(f"run directory not found: {d}")
    cfg_path, weights_path = d / "config.json", d / "model.safetensors"
    for p in (cfg_path, weights_path):
        if not (p.exists() or p.is_symlink()):
            raise InputError(f"{p} is missing: this does not look like a trained run (train one first)")
    cfg = read_bounded(cfg_path, MAX_CONFIG_BYTES, "run's config.json")
    weights = read_bounded(weights_path, MAX_WEIGHTS_BYTES, "run's model.safetensors")
    return cfg_path, cfg, weights_path, weights


@dataclass(frozen=True)
class UploadWords:
    """How a family names its saved runs in the errors about an uploaded zip."""

    model: str       # "toy score model"
    saved: str       # "saved Score lab model"
    how_to_save: str  # "save a model from the Score lab"


def read_run_zip(content: bytes, name: str, words: UploadWords) -> tuple[bytes, bytes, list[dict]]:
    """(config.json, model.safetensors, loss history) of an uploaded zip; InputError for anything else.

    Only the three known file names are read (wherever they sit in the zip), each with a size
    cap; nothing is extracted.
    """
    if len(content) > MAX_ZIP_BYTES:
        raise InputError(f"{name} is larger than {MAX_ZIP_BYTES // 1_000_000} MB: not a {words.saved}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError(f"{name} is not a zip file: {words.how_to_save} and upload that zip") from None
    with zf:
        found = {}
        for info in zf.infolist():
            base = Path(info.filename).name
            if base in RUN_FILES and not info.is_dir():
                if info.file_size > MEMBER_LIMITS[base]:
                    raise InputError(f"{name}: {base} is too large to be part of a {words.model}")
                found[base] = info
        missing = [f for f in RUN_FILES[:2] if f not in found]
        if missing:
            raise InputError(f"{name} has no {' or '.join(missing)}: it is not a {words.saved}")
        try:
            config, weights = zf.read(found["config.json"]), zf.read(found["model.safetensors"])
            history = []
            if "losses.csv" in found:
                with zf.open(found["losses.csv"]) as raw:
                    history = read_losses_csv(io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=""))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
            raise InputError(f"{name} is damaged ({exc})") from None
    return config, weights, history


def load_weights(network: torch.nn.Module, weights: bytes, digest: str | None, label: str,
                 device: str = "cpu") -> torch.nn.Module:
    """`network` (built from a CHECKED config) filled with `weights`, on `device`, frozen for sampling.

    InputError when the bytes are corrupt, are not the ones the config was saved with (`digest`;
    None: a run saved before digests), or do not fit the network.
    """
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{label} is truncated or corrupt: {exc}") from None
    if digest is not None and weights_digest(weights) != digest:
        raise InputError(f"{label} is not the model.safetensors its config.json was saved with "
                         "(a torn or mixed run folder): save or train the run again")
    try:
        network.load_state_dict(tensors)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0] if first else "")
        raise InputError(f"{label} does not match its config.json ({detail})") from None
    return network.to(device).eval().requires_grad_(False)


def keep_uploaded_paths_closed(model) -> None:
    """An uploaded run's CSV dataset names a path on the uploader's machine (or one of this server a crafted
    zip points at): keep it only to show and save again (`dataset_from_upload`), never to open."""
    if model.dataset is not None and model.dataset.get("kind") == "csv":
        model.dataset, model.dataset_from_upload = None, model.dataset


def read_losses_csv(source: str | Path | IO[str]) -> list[dict]:
    """losses.csv (step, loss, sigma_1…) back into history rows: a path or an open text stream.

    Unreadable rows are skipped; reading stops after MAX_HISTORY_ROWS lines or at a line longer
    than MAX_LINE_CHARS, so a crafted file of millions of rows costs milliseconds, not minutes.
    """
    if isinstance(source, (str, Path)):
        try:
            text = read_bounded(source, MAX_LOSS_CSV_BYTES, "losses.csv").decode("utf-8", errors="replace")
        except InputError:  # no history is not fatal: the weights are what a run is
            return []
        return read_losses_csv(io.StringIO(text, newline=""))
    rows: list[dict] = []
    reader = csv.reader(_bounded_lines(source))
    try:
        header = [f.strip() for f in next(reader, [])]
        if header[:2] != ["step", "loss"]:
            return []
        for fields in reader:
            row = _history_row(header, fields)
            if row is not None:
                rows.append(row)
    except csv.Error:  # a broken quote: keep the rows read so far
        pass
    return rows


def _bounded_lines(stream: IO[str]):
    """At most MAX_HISTORY_ROWS + 1 lines of `stream`, ending early at a line longer than MAX_LINE_CHARS."""
    for _ in range(MAX_HISTORY_ROWS + 1):
        line = stream.readline(MAX_LINE_CHARS)
        if not line or (len(line) >= MAX_LINE_CHARS and not line.endswith("\n")):
            return
        yield line


def _history_row(header: list[str], fields: list[str]) -> dict | None:
    if len(fields) != len(header):
        return None
    try:
        row = {"step": int(fields[0]), "loss": float(fields[1])}
        levels = [float(v) for k, v in zip(header[2:], fields[2:]) if k.startswith("sigma_")]
    except ValueError:
        return None
    if levels:
        row["per_sigma"] = levels
    return row


# ----------------------------------------------------------------------------- the config

def read_config_json(raw: bytes, label: str, check: Callable[[dict], T], what: str = "run config") -> T:
    """Parse a config.json and `check` its fields; any problem is one `InputError` line that starts with `label`."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"{label} is larger than {MAX_CONFIG_BYTES // 1000} kB: not a {what}")
    try:
        cfg = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: [[[[…]]]] nested thousands deep
        raise InputError(f"{label} is not a valid {what} ({exc.__class__.__name__}: {exc})") from None
    try:
        if not isinstance(cfg, dict):
            raise InputError(f"expected a JSON object, got {type(cfg).__name__}")
        return check(cfg)
    except (InputError, TypeError) as exc:  # TypeError: a field of a type no check foresaw
        raise InputError(f"{label} is not a valid {what}: {exc}") from None


@dataclass
class CommonConfig:
    """The fields every run's config.json holds beside the family's training settings."""

    center: list[float]          # two finite numbers
    spread: float
    dataset: dict | None         # DatasetSpec.to_dict() (a well-formed spec; its file is not opened here)
    steps_trained: int
    weights_sha256: str | None   # the digest of model.safetensors written with it (None: saved before digests)


def required(cfg: dict, name: str, old_name: str | None = None):
    if name in cfg:
        return cfg[name]
    if old_name is not None and old_name in cfg:
        return cfg[old_name]
    raise InputError(f"{name} is missing")


def checked_common(cfg: dict, *, digest_required: bool = False) -> CommonConfig:
    """The shared fields of a parsed config.json, each checked for type and bounds (InputError otherwise)."""
    # runs saved before the rename call the centre and spread "shift" and "scale"
    center = required(cfg, "center", "shift")
    if not (isinstance(center, list) and len(center) == 2):
        raise InputError(f"center must be a list of 2 numbers (got {short_repr(center)})")
    center = [number(v, "center", MAX_COORDINATE) for v in center]
    spread = number(required(cfg, "spread", "scale"), "spread", MAX_COORDINATE)
    if not spread > 0:
        raise InputError(f"spread must be a positive number (got {spread})")
    dataset = cfg.get("dataset")
    if dataset is not None:
        dataset = DatasetSpec.from_dict(dataset).to_dict()
    steps_trained = cfg.get("steps_trained", 0)
    if not (is_whole(steps_trained) and 0 <= steps_trained <= MAX_STEPS_TRAINED):
        raise InputError(f"steps_trained must be a whole number ≥ 0 (got {short_repr(steps_trained)})")
    digest = cfg.get("weights_sha256")
    if (digest is not None or digest_required) and not (isinstance(digest, str) and len(digest) == 64):
        raise InputError(f"weights_sha256 must be 64 hex digits (got {short_repr(digest)})")
    return CommonConfig(center, spread, dataset, steps_trained, digest)
