"""A trained flow on disk, in the same layout as a score run: model.safetensors + config.json + losses.csv.

config.json says `"kind": "flow"`, so a run folder tells which kind of model it holds
(`is_flow_run`). Everything is checked before anything is built, as for score runs: the
config's types and bounds (`FlowConfig.validate`), file sizes, and the weights' digest.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import fields
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as safetensors_bytes

from models.core.atomic import atomic_folder, write_synced
from models.core.errors import InputError
from models.lab.checks import is_whole, number
from models.lab.datasets import DatasetSpec
from models.lab.points_csv import MAX_COORDINATE
from models.score.checkpoints import (MAX_WEIGHTS_BYTES, check_run_target, losses_csv_text, read_losses_csv,
                                      read_run_folder)
from models.score.saved_config import MAX_CONFIG_BYTES, MAX_STEPS_TRAINED

from .model import FlowModel
from .network import VelocityNetwork
from .trainer import FlowConfig

FORMAT_VERSION = 1
KIND = "flow"


def run_files(model: FlowModel, history: list[dict] | None = None, class_names: list[str] | None = None
              ) -> dict[str, bytes]:
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.network.state_dict().items()}
    weights = safetensors_bytes(tensors, metadata={"format": "diffusion-classroom"})
    config = {"format_version": FORMAT_VERSION, "kind": KIND, "train": model.config.to_dict(),
              "center": [float(v) for v in model.center], "spread": float(model.spread),
              "dataset": model.dataset if model.dataset is not None else model.dataset_from_upload,
              "steps_trained": int(model.steps_trained), "class_names": list(class_names or []),
              "weights_sha256": hashlib.sha256(weights).hexdigest()}
    files = {"model.safetensors": weights, "config.json": json.dumps(config, indent=2).encode()}
    if history:
        files["losses.csv"] = losses_csv_text(history, 0).encode()
    return files


def save_flow_run(directory: str | Path, model: FlowModel, history: list[dict] | None = None,
                  class_names: list[str] | None = None) -> Path:
    """Written whole into a hidden sibling, then renamed into place (as `models.score.checkpoints.save_run`)."""
    d = check_run_target(directory)
    files = run_files(model, history, class_names)
    try:
        with atomic_folder(d) as tmp:
            for name, data in files.items():
                write_synced(tmp / name, data)
    except OSError as exc:
        raise InputError(f"cannot write the run to {d}: {exc.strerror or exc}") from None
    return d


def flow_zip_bytes(model: FlowModel, history: list[dict] | None = None, class_names: list[str] | None = None
                   ) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(run_files(model, history, class_names).items()):
            zf.writestr(name, data)
    return buf.getvalue()


def is_flow_run(directory: str | Path) -> bool:
    """True when the folder's config.json names a flow (False for a score run, or no readable config)."""
    try:
        raw = (Path(directory) / "config.json").read_bytes()[:MAX_CONFIG_BYTES]
        cfg = json.loads(raw)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(cfg, dict) and cfg.get("kind") == KIND


def load_flow_run(directory: str | Path, device: str = "cpu") -> tuple[FlowModel, list[dict], list[str]]:
    """(model, loss history, class names) of a flow run folder; any problem is one InputError."""
    cfg_path, cfg, _, weights = read_run_folder(directory)
    model, names = _build(cfg, weights, str(cfg_path), device)
    return model, read_losses_csv(Path(directory) / "losses.csv"), names


def load_flow_zip(content: bytes, name: str = "uploaded file") -> tuple[FlowModel, list[dict], list[str]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise InputError(f"{name} is not a zip file: save a flow from this page and upload that zip") from None
    with zf:
        found = {Path(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
        if "config.json" not in found or "model.safetensors" not in found:
            raise InputError(f"{name} has no config.json or model.safetensors: it is not a saved flow")
        limits = {"config.json": MAX_CONFIG_BYTES, "model.safetensors": MAX_WEIGHTS_BYTES}
        for base, limit in limits.items():
            if found[base].file_size > limit:
                raise InputError(f"{name}: {base} is too large to be part of a toy flow")
        model, names = _build(zf.read(found["config.json"]), zf.read(found["model.safetensors"]),
                              f"{name}: config.json", "cpu")
        history = []
        if "losses.csv" in found:
            with zf.open(found["losses.csv"]) as raw:
                history = read_losses_csv(io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=""))
    if model.dataset is not None and model.dataset.get("kind") == "csv":  # never open a path an upload names
        model.dataset, model.dataset_from_upload = None, model.dataset
    return model, history, names


def _build(raw: bytes, weights: bytes, label: str, device: str) -> tuple[FlowModel, list[str]]:
    try:
        cfg = json.loads(raw)
        config, center, spread, dataset, steps, names, digest = _checked(cfg)
    except (ValueError, RecursionError, TypeError) as exc:  # InputError is a ValueError
        raise InputError(f"{label} is not a valid flow config: {exc}") from None
    try:
        tensors = load_safetensors(weights)
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"{label}: the weights are truncated or corrupt: {exc}") from None
    if hashlib.sha256(weights).hexdigest() != digest:
        raise InputError(f"{label}: model.safetensors is not the one this config.json was saved with "
                         "(a torn or mixed run folder): save or train the run again")
    network = VelocityNetwork(config.hidden, config.depth, config.num_classes)
    try:
        network.load_state_dict(tensors)
    except RuntimeError as exc:
        raise InputError(f"{label}: the weights do not match the config ({str(exc).splitlines()[0]})") from None
    network.to(device).eval().requires_grad_(False)
    return FlowModel(network, config, torch.tensor(center, dtype=torch.float32), spread, dataset, steps), names


def _checked(cfg):
    if not isinstance(cfg, dict):
        raise InputError("expected a JSON object")
    if cfg.get("kind") != KIND or cfg.get("format_version") != FORMAT_VERSION:
        raise InputError(f"not a flow run of format {FORMAT_VERSION} (kind {cfg.get('kind')!r})")
    train = cfg.get("train")
    if not isinstance(train, dict):
        raise InputError("train must be a JSON object")
    known = {f.name for f in fields(FlowConfig)}
    config = FlowConfig(**{k: v for k, v in train.items() if k in known})
    config.validate()
    center = cfg.get("center")
    if not (isinstance(center, list) and len(center) == 2):
        raise InputError("center must be a list of 2 numbers")
    center = [number(v, "center", MAX_COORDINATE) for v in center]
    spread = number(cfg.get("spread"), "spread", MAX_COORDINATE)
    if not spread > 0:
        raise InputError("spread must be positive")
    dataset = cfg.get("dataset")
    if dataset is not None:
        dataset = DatasetSpec.from_dict(dataset).to_dict()
    steps = cfg.get("steps_trained", 0)
    if not (is_whole(steps) and 0 <= steps <= MAX_STEPS_TRAINED):
        raise InputError("steps_trained must be a whole number ≥ 0")
    names = cfg.get("class_names", [])
    if not (isinstance(names, list) and all(isinstance(n, str) and len(n) <= 80 for n in names)
            and len(names) in (0, config.num_classes)):
        raise InputError("class_names must be one short text per class")
    digest = cfg.get("weights_sha256")
    if not (isinstance(digest, str) and len(digest) == 64):
        raise InputError("weights_sha256 must be 64 hex digits")
    return config, center, spread, dataset, steps, names, digest
