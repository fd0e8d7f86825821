"""config.json of a saved run: what `save_run` writes, and the check `load_run` makes before it builds anything.

A run may come from anyone (the Score lab's "Load a saved model" takes an uploaded zip), so every
field is checked for its type and bounds first: a config asking for a 20 000-wide network or a
ladder of a million levels is refused in one line, never built. The bounds of the training
settings are `TrainConfig.validate`'s (the same ones the CLI and the Score lab obey).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from models.core.errors import InputError
from models.lab.checks import LIMITS, number, short_repr
from models.lab.points_csv import MAX_COORDINATE
from models.lab.run_folder import checked_common, read_config_json, required

from .trainer import TrainConfig

FORMAT_VERSION = 1


@dataclass
class SavedConfig:
    """The checked contents of a config.json."""

    config: TrainConfig
    sigmas: list[float]          # the ladder in data coordinates, largest first
    center: list[float]          # two finite numbers
    spread: float
    dataset: dict | None         # DatasetSpec.to_dict() (a well-formed spec; its file is not opened here)
    steps_trained: int
    weights_sha256: str | None   # the digest of model.safetensors written with it (None: saved before digests)


def config_json(saved: SavedConfig) -> str:
    return json.dumps({
        "format_version": FORMAT_VERSION,
        "train": saved.config.to_dict(),
        "sigmas": saved.sigmas,
        "center": saved.center,
        "spread": saved.spread,
        "dataset": saved.dataset,
        "steps_trained": saved.steps_trained,
        "weights_sha256": saved.weights_sha256,
    }, indent=2)


def read_config(raw: bytes, label: str) -> SavedConfig:
    """Parse and check a config.json; any problem is one `InputError` line that starts with `label`."""
    return read_config_json(raw, label, _checked)


def _checked(cfg: dict) -> SavedConfig:
    version = cfg.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InputError(f"format_version {short_repr(version)} is not one this version reads ({FORMAT_VERSION})")
    config = _train_config(required(cfg, "train"))
    common = checked_common(cfg)
    return SavedConfig(config, _ladder(required(cfg, "sigmas"), config.model), common.center, common.spread,
                       common.dataset, common.steps_trained, common.weights_sha256)


def _train_config(train) -> TrainConfig:
    if not isinstance(train, dict):
        raise InputError(f"train must be a JSON object (got {short_repr(train)})")
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in train.items() if k in known})  # unknown keys: a newer version's
    config.validate()
    if config.model == "single-sigma" and config.sigma is None:
        raise InputError("a single-sigma model needs its sigma")
    return config


def _ladder(sigmas, model: str) -> list[float]:
    """NCSN: 2 to LIMITS["levels"] positive finite σ's, strictly decreasing; single-σ: exactly one."""
    low, high = (2, LIMITS["levels"]) if model == "ncsn" else (1, 1)
    if not (isinstance(sigmas, list) and low <= len(sigmas) <= high):
        count = f"{len(sigmas)} values" if isinstance(sigmas, list) else short_repr(sigmas)
        want = f"{low} to {high}" if low != high else f"{low}"
        raise InputError(f"sigmas must be a list of {want} noise levels for a {model} model (got {count})")
    values = [number(v, "sigmas", MAX_COORDINATE) for v in sigmas]
    if not all(v > 0 for v in values):
        raise InputError("sigmas must all be positive")
    if any(a <= b for a, b in zip(values, values[1:])):
        raise InputError("sigmas must be strictly decreasing (largest first)")
    return values
