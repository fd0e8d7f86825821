"""Labelled 2-D data for classifier-free guidance: 8-gaussians labelled by mode, moons by moon.

The labels belong to the very points `models.lab.datasets` draws for the same name, n and
seed: 8-gaussians by the nearest mode (the modes are 15 standard deviations apart, so this
is the component that drew the point), moons by replaying the generator's coin flip that
chose the moon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from models.core.errors import InputError
from models.lab.datasets import DatasetSpec, TrainingData, dataset_mixture, training_data

LABELLED_DATASETS = ("8-gaussians", "moons")


@dataclass
class LabelledData:
    data: TrainingData
    labels: torch.Tensor          # (N,) class ids 0…C−1
    class_names: list[str]


def class_names(name: str) -> list[str]:
    if name == "8-gaussians":
        return [f"mode {k + 1} ({round(math.degrees(2 * math.pi * k / 8))}°)" for k in range(8)]
    if name == "moons":
        return ["upper moon", "lower moon"]
    raise InputError(f"no labels for {name!r}: class-conditional training works on "
                     f"{' or '.join(LABELLED_DATASETS)}")


def labelled_data(spec: DatasetSpec, n: int = 10_000, seed: int = 0) -> LabelledData:
    """The training points of a labelled built-in dataset, with one class per point."""
    if spec.kind != "builtin" or spec.name not in LABELLED_DATASETS:
        raise InputError(f"no labels for {spec.describe()}: class-conditional training works on the built-in "
                         f"{' or '.join(LABELLED_DATASETS)}")
    names = class_names(spec.name)
    data = training_data(spec, n, seed)
    if spec.name == "8-gaussians":
        means = dataset_mixture(spec.name).means_tensor()
        labels = torch.cdist(data.points, means).argmin(1)
    else:  # moons: the same generator calls as datasets._moons (t first, then the moon's coin flip)
        g = torch.Generator().manual_seed(int(seed))
        torch.rand(n, generator=g)
        labels = (torch.rand(n, generator=g) < 0.5).long()
    return LabelledData(data, labels, names)


def mode_centers(spec: DatasetSpec) -> torch.Tensor | None:
    """Each class's centre in data coordinates for 8-gaussians (its mode); None where classes have no one point."""
    if spec.kind == "builtin" and spec.name == "8-gaussians":
        return dataset_mixture(spec.name).means_tensor()
    return None
