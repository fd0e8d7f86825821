"""A trained flow on disk, in the lab's run layout (models/lab/run_folder.py): model.safetensors + config.json
+ losses.csv, written whole or not at all, read with size caps and the weights' digest checked.

config.json says `"kind": "flow"`, so a run folder tells which kind of model it holds
(`is_flow_run`). Everything is checked before anything is built, as for score runs: the
config's types and bounds (`FlowConfig.validate`, `run_folder.checked_common`), file sizes,
and the weights' digest.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import torch

from models.core.atomic import recover_folder
from models.core.errors import InputError
from models.core.reading import read_bounded
from models.lab import run_folder

from .model import FlowModel
from .network import VelocityNetwork
from .trainer import FlowConfig

FORMAT_VERSION = 1
KIND = "flow"
UPLOAD_WORDS = run_folder.UploadWords(model="toy flow", saved="saved flow", how_to_save="save a flow from this page")


def run_files(model: FlowModel, history: list[dict] | None = None, class_names: list[str] | None = None
              ) -> dict[str, bytes]:
    weights = run_folder.weights_bytes(model.network)
    config = {"format_version": FORMAT_VERSION, "kind": KIND, "train": model.config.to_dict(),
              "center": [float(v) for v in model.center], "spread": float(model.spread),
              "dataset": model.dataset if model.dataset is not None else model.dataset_from_upload,
              "steps_trained": int(model.steps_trained), "class_names": list(class_names or []),
              "weights_sha256": run_folder.weights_digest(weights)}
    files = {"model.safetensors": weights, "config.json": json.dumps(config, indent=2).encode()}
    if history:
        files["losses.csv"] = run_folder.losses_csv_text(history, 0).encode()
    return files


def save_flow_run(directory: str | Path, model: FlowModel, history: list[dict] | None = None,
                  class_names: list[str] | None = None) -> Path:
    """The run folder, written whole or not at all (see `run_folder.write_run_folder`)."""
    return run_folder.write_run_folder(directory, run_files(model, history, class_names))


def flow_zip_bytes(model: FlowModel, history: list[dict] | None = None, class_names: list[str] | None = None
                   ) -> bytes:
    return run_folder.zip_bytes(run_files(model, history, class_names))


def is_flow_run(directory: str | Path) -> bool:
    """True when the folder's config.json names a flow (False for a score run, or no readable config)."""
    try:
        recover_folder(directory)
        raw = read_bounded(Path(directory) / "config.json", run_folder.MAX_CONFIG_BYTES, "run's config.json")
        cfg = json.loads(raw)
    except (InputError, OSError, ValueError, RecursionError):
        return False
    return isinstance(cfg, dict) and cfg.get("kind") == KIND


def load_flow_run(directory: str | Path, device: str = "cpu") -> tuple[FlowModel, list[dict], list[str]]:
    """(model, loss history, class names) of a flow run folder; any problem is one InputError."""
    cfg_path, cfg, weights_path, weights = run_folder.read_run_folder(directory)
    model, names = _build(cfg, weights, str(cfg_path), str(weights_path), device)
    return model, run_folder.read_losses_csv(Path(directory) / "losses.csv"), names


def load_flow_zip(content: bytes, name: str = "uploaded file") -> tuple[FlowModel, list[dict], list[str]]:
    """A zip written by `flow_zip_bytes` → (model, loss history, class names); a CSV path it names is never opened."""
    config, weights, history = run_folder.read_run_zip(content, name, UPLOAD_WORDS)
    model, names = _build(config, weights, f"{name}: config.json", f"{name}: model.safetensors", "cpu")
    run_folder.keep_uploaded_paths_closed(model)
    return model, history, names


def _build(raw: bytes, weights: bytes, config_label: str, weights_label: str, device: str
           ) -> tuple[FlowModel, list[str]]:
    config, common, names = run_folder.read_config_json(raw, config_label, _checked, what="flow config")
    network = VelocityNetwork(config.hidden, config.depth, config.num_classes)
    network = run_folder.load_weights(network, weights, common.weights_sha256, weights_label, device)
    model = FlowModel(network, config, torch.tensor(common.center, dtype=torch.float32), common.spread,
                      common.dataset, common.steps_trained)
    return model, names


def _checked(cfg: dict) -> tuple[FlowConfig, run_folder.CommonConfig, list[str]]:
    if cfg.get("kind") != KIND or cfg.get("format_version") != FORMAT_VERSION:
        raise InputError(f"not a flow run of format {FORMAT_VERSION} (kind {cfg.get('kind')!r})")
    train = cfg.get("train")
    if not isinstance(train, dict):
        raise InputError("train must be a JSON object")
    known = {f.name for f in fields(FlowConfig)}
    config = FlowConfig(**{k: v for k, v in train.items() if k in known})
    config.validate()
    common = run_folder.checked_common(cfg, digest_required=True)
    names = cfg.get("class_names", [])
    if not (isinstance(names, list) and all(isinstance(n, str) and len(n) <= 80 for n in names)
            and len(names) in (0, config.num_classes)):
        raise InputError("class_names must be one short text per class")
    if not names and config.num_classes:  # saved without names: every class still needs one to be shown
        names = [f"class {i}" for i in range(config.num_classes)]
    return config, common, names
