"""A trained score model on disk: `model.safetensors` + `config.json` (+ `losses.csv`), or one zip of them.

`ScoreModel` is what the rest of the code samples with: the network as a score
function in the DATA's own coordinates. The network was trained on standardized
points z = (x − center)/spread (see `datasets.TrainingData`), and the chain rule gives
    s_x(x, σ) = s_z((x − center)/spread, σ/spread) / spread.

How a run folder or zip is written and read (whole or not at all, size caps, the weights'
digest, an uploaded CSV path never opened) is the lab's, models/lab/run_folder.py; the score
config's own fields are checked in saved_config.py before anything is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from models.lab import run_folder
from models.lab.datasets import DatasetSpec
from models.lab.training import Trainer

from .networks import build_network
from .saved_config import SavedConfig, config_json, read_config
from .trainer import TrainConfig

UPLOAD_WORDS = run_folder.UploadWords(model="toy score model", saved="saved Score lab model",
                                      how_to_save="save a model from the Score lab")


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
    weights = run_folder.weights_bytes(model.network)
    dataset = model.dataset if model.dataset is not None else model.dataset_from_upload
    saved = SavedConfig(model.config, [float(s) for s in model.sigmas], [float(v) for v in model.center],
                        float(model.spread), dataset, int(model.steps_trained), run_folder.weights_digest(weights))
    files = {"model.safetensors": weights, "config.json": config_json(saved).encode()}
    if history:
        files["losses.csv"] = run_folder.losses_csv_text(history, len(model.sigmas)).encode()
    return files


def save_run(directory: str | Path, model: ScoreModel, history: list[dict] | None = None) -> Path:
    """The run folder, written whole or not at all (see `run_folder.write_run_folder`)."""
    return run_folder.write_run_folder(directory, run_files(model, history))


def run_zip_bytes(model: ScoreModel, history: list[dict] | None = None) -> bytes:
    """model.safetensors + config.json + losses.csv (as `save_run` writes them) as one zip, for a download."""
    return run_folder.zip_bytes(run_files(model, history))


# ----------------------------------------------------------------------------- reading

def load_run(directory: str | Path, device: str = "cpu") -> ScoreModel:
    """Load a run directory; any problem becomes one clear `InputError`.

    A run folder on disk is the user's own (the CLI names it), so a CSV path in its config is
    kept and may be read again.
    """
    cfg_path, cfg, weights_path, weights = run_folder.read_run_folder(directory)
    return _build_model(read_config(cfg, str(cfg_path)), weights, str(weights_path), device)


def _build_model(saved: SavedConfig, weights: bytes, label: str, device: str) -> ScoreModel:
    """The network of a CHECKED config, filled with `weights` (InputError when they do not belong to it)."""
    c = saved.config
    network = build_network(c.model, hidden=c.hidden, depth=c.depth, sigma=c.sigma, conditioning=c.conditioning)
    network = run_folder.load_weights(network, weights, saved.weights_sha256, label, device)
    return ScoreModel(network, c, torch.tensor(saved.sigmas, dtype=torch.float32),
                      torch.tensor(saved.center, dtype=torch.float32), saved.spread, saved.dataset,
                      saved.steps_trained)


def load_run_zip(content: bytes, name: str = "uploaded file") -> tuple[ScoreModel, list[dict]]:
    """A zip written by `run_zip_bytes` → (model, loss history); InputError for anything else.

    The config is checked against bounds before the network is built. A CSV dataset named in
    the config is NOT loaded (`dataset_from_upload`): the path would be read on this server.
    """
    config, weights, history = run_folder.read_run_zip(content, name, UPLOAD_WORDS)
    saved = read_config(config, f"{name}: config.json")
    model = _build_model(saved, weights, f"{name}: model.safetensors", "cpu")
    run_folder.keep_uploaded_paths_closed(model)
    return model, history
