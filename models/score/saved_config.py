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
from models.lab.checks import LIMITS, is_whole, number, short_repr
from models.lab.datasets import DatasetSpec
from models.lab.points_csv import MAX_COORDINATE

from .trainer import TrainConfig

FORMAT_VERSION = 1
MAX_CONFIG_BYTES = 1_000_000   # a real config.json is about 1 kB
MAX_STEPS_TRAINED = 2**63 - 1


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
    if len(raw) > MAX_CONFIG_BYTES:
        raise InputError(f"{label} is larger than {MAX_CONFIG_BYTES // 1000} kB: not a run config")
    try:
        cfg = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: [[[[…]]]] nested thousands deep
        raise InputError(f"{label} is not a valid run config ({exc.__class__.__name__}: {exc})") from None
    try:
        return _checked(cfg)
    except InputError as exc:
        raise InputError(f"{label} is not a valid run config: {exc}") from None


def _checked(cfg) -> SavedConfig:
    if not isinstance(cfg, dict):
        raise InputError(f"expected a JSON object, got {type(cfg).__name__}")
    version = cfg.get("format_version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise InputError(f"format_version {short_repr(version)} is not one this version reads ({FORMAT_VERSION})")
    config = _train_config(_required(cfg, "train"))
    # runs saved before the rename call the centre and spread "shift" and "scale"
    center = _required(cfg, "center", "shift")
    if not (isinstance(center, list) and len(center) == 2):
        raise InputError(f"center must be a list of 2 numbers (got {short_repr(center)})")
    center = [number(v, "center", MAX_COORDINATE) for v in center]
    spread = number(_required(cfg, "spread", "scale"), "spread", MAX_COORDINATE)
    if not spread > 0:
        raise InputError(f"spread must be a positive number (got {spread})")
    dataset = cfg.get("dataset")
    if dataset is not None:
        dataset = DatasetSpec.from_dict(dataset).to_dict()
    steps_trained = cfg.get("steps_trained", 0)
    if not (is_whole(steps_trained) and 0 <= steps_trained <= MAX_STEPS_TRAINED):
        raise InputError(f"steps_trained must be a whole number ≥ 0 (got {short_repr(steps_trained)})")
    digest = cfg.get("weights_sha256")
    if digest is not None and not (isinstance(digest, str) and len(digest) == 64):
        raise InputError(f"weights_sha256 must be 64 hex digits (got {short_repr(digest)})")
    return SavedConfig(config, _ladder(_required(cfg, "sigmas"), config.model), center, spread, dataset,
                       steps_trained, digest)


def _required(cfg: dict, name: str, old_name: str | None = None):
    if name in cfg:
        return cfg[name]
    if old_name is not None and old_name in cfg:
        return cfg[old_name]
    raise InputError(f"{name} is missing")


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
