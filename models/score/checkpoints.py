"""A trained score model on disk: `model.safetensors` + `config.json` (+ `losses.csv`).

`ScoreModel` is what the rest of the code samples with: the network as a score
function in the DATA's own coordinates. The network was trained on standardized
points z = (x − center)/spread (see `datasets.TrainingData`), and the chain rule gives
    s_x(x, σ) = s_z((x − center)/spread, σ/spread) / spread.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from models.atomic import atomic_path

from .errors import InputError
from .networks import build_network
from .trainer import TrainConfig, Trainer

FORMAT_VERSION = 1


@dataclass
class ScoreModel:
    network: torch.nn.Module
    config: TrainConfig
    sigmas: torch.Tensor              # the ladder in data coordinates, largest first
    center: torch.Tensor              # (2,) the training data's mean point
    spread: float                     # its mean per-axis standard deviation
    dataset: dict | None = None       # DatasetSpec.to_dict() of the training data
    steps_trained: int = 0

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

    @classmethod
    def from_trainer(cls, trainer: Trainer, center=None, spread: float = 1.0, dataset: dict | None = None):
        center = torch.zeros(2) if center is None else torch.as_tensor(center, dtype=torch.float32)
        return cls(trainer.sampling_network, trainer.config, trainer.sigmas * spread, center, float(spread),
                   dataset, trainer.state.step)


def _atomic_write(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(str(tmp))


def save_run(directory: str | Path, model: ScoreModel, history: list[dict] | None = None) -> Path:
    """Write weights, config and (optionally) the loss history; every file atomically."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    _atomic_write(d / "model.safetensors", lambda p: save_file(tensors, p, metadata={"format": "diffusion-classroom"}))
    cfg = {
        "format_version": FORMAT_VERSION,
        "train": model.config.to_dict(),
        "sigmas": [float(s) for s in model.sigmas],
        "center": [float(v) for v in model.center],
        "spread": model.spread,
        "dataset": model.dataset,
        "steps_trained": model.steps_trained,
    }
    _atomic_write(d / "config.json", lambda p: Path(p).write_text(json.dumps(cfg, indent=2)))
    if history:
        _atomic_write(d / "losses.csv", lambda p: write_losses_csv(p, history, len(model.sigmas)))
    return d


def write_losses_csv(path, history: list[dict], levels: int) -> None:
    per_sigma = "per_sigma" in history[0]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "loss"] + ([f"sigma_{i + 1}" for i in range(levels)] if per_sigma else []))
        for row in history:
            w.writerow([row["step"], f"{row['loss']:.6g}"] + [f"{v:.6g}" for v in row.get("per_sigma", [])])


def load_run(directory: str | Path, device: str = "cpu") -> ScoreModel:
    """Load a run directory; any problem becomes one clear `InputError`."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"run directory not found: {d}")
    cfg_path, weights_path = d / "config.json", d / "model.safetensors"
    for p in (cfg_path, weights_path):
        if not p.is_file():
            raise InputError(f"{p} is missing: this does not look like a trained run (train one first)")
    try:
        cfg = json.loads(cfg_path.read_text())
        known = {f.name for f in fields(TrainConfig)}
        config = TrainConfig(**{k: v for k, v in cfg["train"].items() if k in known})
        sigmas = torch.tensor(cfg["sigmas"], dtype=torch.float32)
        # runs saved before the rename call the centre and spread "shift" and "scale"
        center = torch.tensor(cfg["center"] if "center" in cfg else cfg["shift"], dtype=torch.float32)
        spread = float(cfg["spread"] if "spread" in cfg else cfg["scale"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{cfg_path} is not a valid run config ({exc.__class__.__name__}: {exc})") from None
    try:
        tensors = load_file(weights_path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{weights_path} is truncated or corrupt: {exc}") from None
    network = build_network(config.model, hidden=config.hidden, depth=config.depth,
                            sigma=config.sigma, conditioning=config.conditioning)
    try:
        network.load_state_dict(tensors)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = next((line.strip() for line in first[1:] if line.strip()), first[0] if first else "")
        raise InputError(f"{weights_path} does not match its config.json ({detail})") from None
    network.to(device).eval().requires_grad_(False)
    return ScoreModel(network, config, sigmas, center, spread, cfg.get("dataset"), int(cfg.get("steps_trained", 0)))


def run_zip_bytes(model: ScoreModel, history: list[dict] | None = None) -> bytes:
    """model.safetensors + config.json + losses.csv (`save_run`) as one zip, for a download."""
    with tempfile.TemporaryDirectory() as tmp:
        save_run(tmp, model, history)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(Path(tmp).iterdir()):
                zf.write(p, p.name)
        return buf.getvalue()


RUN_FILES = ("model.safetensors", "config.json", "losses.csv")
MAX_ZIP_MEMBER = 50_000_000


def load_run_zip(content: bytes, name: str = "uploaded file") -> tuple[ScoreModel, list[dict]]:
    """A zip written by `run_zip_bytes` → (model, loss history); InputError for anything else.

    Only the three known file names are read (wherever they sit in the zip); nothing is
    extracted by the zip's own paths, so a crafted archive cannot write elsewhere.
    """
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile:
        raise InputError(f"{name} is not a zip file: save a model from the Score lab and upload that zip") from None
    with zf, tempfile.TemporaryDirectory() as tmp:
        found = {}
        for info in zf.infolist():
            base = Path(info.filename).name
            if base in RUN_FILES and not info.is_dir():
                if info.file_size > MAX_ZIP_MEMBER:
                    raise InputError(f"{name}: {base} is too large to be a toy score model")
                found[base] = info
        missing = [f for f in RUN_FILES[:2] if f not in found]
        if missing:
            raise InputError(f"{name} has no {' or '.join(missing)}: it is not a saved Score lab model")
        try:
            for base, info in found.items():
                (Path(tmp) / base).write_bytes(zf.read(info))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InputError(f"{name} is damaged ({exc})") from None
        model = load_run(tmp)
        history = read_losses_csv(Path(tmp) / "losses.csv") if "losses.csv" in found else []
    return model, history


def read_losses_csv(path: Path) -> list[dict]:
    """losses.csv (step, loss, sigma_1…) back into history rows; unreadable rows are skipped."""
    rows = []
    try:
        with open(path, newline="") as f:
            for rec in csv.DictReader(f):
                try:
                    row = {"step": int(rec["step"]), "loss": float(rec["loss"])}
                    levels = [float(v) for k, v in rec.items() if k and k.startswith("sigma_")]
                    if levels:
                        row["per_sigma"] = levels
                    rows.append(row)
                except (KeyError, TypeError, ValueError):
                    continue
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
    return rows
