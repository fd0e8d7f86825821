"""A trained score model on disk: `model.safetensors` + `config.json` (+ `losses.csv`), or one zip of them.

`ScoreModel` is what the rest of the code samples with: the network as a score
function in the DATA's own coordinates. The network was trained on standardized
points z = (x − center)/spread (see `datasets.TrainingData`), and the chain rule gives
    s_x(x, σ) = s_z((x − center)/spread, σ/spread) / spread.

A run folder is written whole or not at all (`atomic_folder`), and its config.json records
the digest of the weights written with it, so a folder mixed from two saves is refused.
A run may be uploaded by anyone: its config is checked against bounds before anything is
built (saved_config.py), its files are read with size and row caps, and a CSV path named
inside an uploaded run is never opened.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as safetensors_bytes

from models.core.atomic import atomic_folder, file_in_the_way, write_synced
from models.core.errors import InputError
from models.lab.datasets import DatasetSpec
from models.lab.training import Trainer

from .networks import build_network
from .saved_config import MAX_CONFIG_BYTES, SavedConfig, config_json, read_config
from .trainer import TrainConfig

RUN_FILES = ("model.safetensors", "config.json", "losses.csv")
MAX_WEIGHTS_BYTES = 50_000_000   # the widest, deepest network the bounds allow is ~30 MB
MAX_LOSS_CSV_BYTES = 50_000_000
MAX_ZIP_BYTES = 110_000_000      # the three files above, stored uncompressed
MAX_HISTORY_ROWS = 100_000       # far more than any run logs (1,000,000 steps at a row per 10)
MAX_LINE_CHARS = 4096            # a losses.csv row of 100 levels is about 1.3 kB


@dataclass
class ScoreModel:
    network: torch.nn.Module
    config: TrainConfig
    sigmas: torch.Tensor              # the ladder in data coordinates, largest first
    center: torch.Tensor              # (2,) the training data's mean point
    spread: float                     # its mean per-axis standard deviation
    dataset: dict | None = None       # DatasetSpec.to_dict() of the training data, when it may be loaded here
    steps_trained: int = 0
    # The dataset an UPLOADED run names but this server never loads (a CSV path: on the uploader's
    # machine, or a file of this server a crafted zip points at). Kept only to show it and to save it again.
    dataset_from_upload: dict | None = None

    @torch.no_grad()
    def score(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """∇ log p_σ(x) in data coordinates (the signature every sampler takes)."""
        dev = next(self.network.parameters()).device
        z = (x.to(dev) - self.center.to(dev)) / self.spread
        out = self.network(z, float(sigma) / self.spread) / self.spread
        return out.to(x.device)

    __call__ = score

    @property
    def sigma(self) -> float:
        """The smallest noise level (the only one, for a denoising score network)."""
        return float(self.sigmas[-1])

    def dataset_label(self) -> str:
        """What the model was trained on, for a caption ("moons", "CSV: points.csv (not available here)")."""
        if self.dataset is not None:
            return DatasetSpec.from_dict(self.dataset).describe()
        if self.dataset_from_upload is not None:
            return DatasetSpec.from_dict(self.dataset_from_upload).describe() + " (uploaded run: data not available)"
        return "unknown data"

    @classmethod
    def from_trainer(cls, trainer: Trainer, center=None, spread: float = 1.0, dataset: dict | None = None):
        center = torch.zeros(2) if center is None else torch.as_tensor(center, dtype=torch.float32)
        return cls(trainer.sampling_network, trainer.config, trainer.objective.sigmas * spread, center, float(spread),
                   dataset, trainer.state.step)


# ----------------------------------------------------------------------------- writing

def run_files(model: ScoreModel, history: list[dict] | None = None) -> dict[str, bytes]:
    """The bytes of model.safetensors, config.json and (with a history) losses.csv."""
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    weights = safetensors_bytes(tensors, metadata={"format": "diffusion-classroom"})
    dataset = model.dataset if model.dataset is not None else model.dataset_from_upload
    saved = SavedConfig(model.config, [float(s) for s in model.sigmas], [float(v) for v in model.center],
                        float(model.spread), dataset, int(model.steps_trained), hashlib.sha256(weights).hexdigest())
    files = {"model.safetensors": weights, "config.json": config_json(saved).encode()}
    if history:
        files["losses.csv"] = losses_csv_text(history, len(model.sigmas)).encode()
    return files


def check_run_target(directory: str | Path) -> Path:
    """Refuse (InputError) a place a run cannot be saved to without harming anything else.

    A new folder, an empty one or an earlier run may be used (a run is replaced whole);
    a file, a folder under a file, a symbolic link or a folder holding other files is refused.
    Checked by `save_run`, and by the CLI before it trains (not after the whole run).
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


def save_run(directory: str | Path, model: ScoreModel, history: list[dict] | None = None) -> Path:
    """Write the run's files into a hidden sibling folder, then rename it into place (replacing an earlier run).

    A crash mid-save leaves the earlier run as it was (or no run): never a folder with the new
    weights and the old config.
    """
    d = check_run_target(directory)
    files = run_files(model, history)
    try:
        with atomic_folder(d) as tmp:
            for name, data in files.items():
                _write_file(tmp / name, data)
    except OSError as exc:
        raise InputError(f"cannot write the run to {d}: {exc.strerror or exc}") from None
    return d


def _write_file(path: Path, data: bytes) -> None:
    write_synced(path, data)  # a function of its own so a test can make it fail mid-save


def losses_csv_text(history: list[dict], levels: int) -> str:
    buf = io.StringIO()
    per_sigma = "per_sigma" in history[0]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "loss"] + ([f"sigma_{i + 1}" for i in range(levels)] if per_sigma else []))
    for row in history:
        w.writerow([row["step"], f"{row['loss']:.6g}"] + [f"{v:.6g}" for v in row.get("per_sigma", [])])
    return buf.getvalue()


def run_zip_bytes(model: ScoreModel, history: list[dict] | None = None) -> bytes:
    """model.safetensors + config.json + losses.csv (as `save_run` writes them) as one zip, for a download."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(run_files(model, history).items()):
            zf.writestr(name, data)
    return buf.getvalue()


# ----------------------------------------------------------------------------- reading

def load_run(directory: str | Path, device: str = "cpu") -> ScoreModel:
    """Load a run directory; any problem becomes one clear `InputError`.

    A run folder on disk is the user's own (the CLI names it), so a CSV path in its config is
    kept and may be read again.
    """
    cfg_path, cfg, weights_path, weights = read_run_folder(directory)
    return _build_model(read_config(cfg, str(cfg_path)), weights, str(weights_path), device)


def read_run_folder(directory: str | Path) -> tuple[Path, bytes, Path, bytes]:
    """(config path, its bytes, weights path, their bytes) of a run folder, size-capped: score and flow runs alike."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"run directory not found: {d}")
    cfg_path, weights_path = d / "config.json", d / "model.safetensors"
    for p in (cfg_path, weights_path):
        if not p.is_file():
            raise InputError(f"{p} is missing: this does not look like a trained run (train one first)")
    cfg = _read_capped(cfg_path, MAX_CONFIG_BYTES, "config.json")
    weights = _read_capped(weights_path, MAX_WEIGHTS_BYTES, "model.safetensors")
    return cfg_path, cfg, weights_path, weights


def _read_capped(path: Path, limit: int, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(f"{path} is too large to be the {what} of a toy score model")
    return data


def _build_model(saved: SavedConfig, weights: bytes, label: str, device: str) -> ScoreModel:
    """The network of a CHECKED config, filled with `weights` (InputError when they do not belong to it)."""
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{label} is truncated or corrupt: {exc}") from None
    if saved.weights_sha256 is not None and hashlib.sha256(weights).hexdigest() != saved.weights_sha256:
        raise InputError(f"{label} is not the model.safetensors its config.json was saved with "
                         "(a torn or mixed run folder): save or train the run again")
    c = saved.config
    network = build_network(c.model, hidden=c.hidden, depth=c.depth, sigma=c.sigma, conditioning=c.conditioning)
    try:
        network.load_state_dict(tensors)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0] if first else "")
        raise InputError(f"{label} does not match its config.json ({detail})") from None
    network.to(device).eval().requires_grad_(False)
    return ScoreModel(network, c, torch.tensor(saved.sigmas, dtype=torch.float32),
                      torch.tensor(saved.center, dtype=torch.float32), saved.spread, saved.dataset,
                      saved.steps_trained)


def load_run_zip(content: bytes, name: str = "uploaded file") -> tuple[ScoreModel, list[dict]]:
    """A zip written by `run_zip_bytes` → (model, loss history); InputError for anything else.

    Only the three known file names are read (wherever they sit in the zip), each with a size
    cap; nothing is extracted. The config is checked against bounds before the network is
    built. A CSV dataset named in the config is NOT loaded (`dataset_from_upload`): the path
    would be read on this server.
    """
    if len(content) > MAX_ZIP_BYTES:
        raise InputError(f"{name} is larger than {MAX_ZIP_BYTES // 1_000_000} MB: not a saved toy score model")
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError(f"{name} is not a zip file: save a model from the Score lab and upload that zip") from None
    limits = {"config.json": MAX_CONFIG_BYTES, "model.safetensors": MAX_WEIGHTS_BYTES,
              "losses.csv": MAX_LOSS_CSV_BYTES}
    with zf:
        found = {}
        for info in zf.infolist():
            base = Path(info.filename).name
            if base in RUN_FILES and not info.is_dir():
                if info.file_size > limits[base]:
                    raise InputError(f"{name}: {base} is too large to be part of a toy score model")
                found[base] = info
        missing = [f for f in RUN_FILES[:2] if f not in found]
        if missing:
            raise InputError(f"{name} has no {' or '.join(missing)}: it is not a saved Score lab model")
        try:
            saved = read_config(zf.read(found["config.json"]), f"{name}: config.json")
            model = _build_model(saved, zf.read(found["model.safetensors"]), f"{name}: model.safetensors", "cpu")
            history = []
            if "losses.csv" in found:
                with zf.open(found["losses.csv"]) as raw:
                    history = read_losses_csv(io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=""))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
            raise InputError(f"{name} is damaged ({exc})") from None
    if model.dataset is not None and model.dataset.get("kind") == "csv":
        model.dataset, model.dataset_from_upload = None, model.dataset
    return model, history


def read_losses_csv(source: str | Path | IO[str]) -> list[dict]:
    """losses.csv (step, loss, sigma_1…) back into history rows: a path or an open text stream.

    Unreadable rows are skipped; reading stops after MAX_HISTORY_ROWS lines or at a line longer
    than MAX_LINE_CHARS, so a crafted file of millions of rows costs milliseconds, not minutes.
    """
    if isinstance(source, (str, Path)):
        try:
            with open(source, encoding="utf-8", errors="replace", newline="") as f:
                return read_losses_csv(f)
        except OSError:
            return []
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
