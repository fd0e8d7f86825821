"""Which devices torch can use here: the one rule the Score lab, the trainer and Home share."""

from __future__ import annotations

import os

import torch


def available_devices() -> list[str]:
    """"cpu", then "cuda" and "mps" where present (the order the device menus show)."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def device_summary() -> str:
    """One Markdown line on the devices for the Home page."""
    devices = available_devices()
    names = {"cpu": "CPU", "mps": "Apple MPS"}
    if "cuda" in devices:
        names["cuda"] = f"CUDA GPU: {torch.cuda.get_device_name(0)}"
    in_use = devices[1] if len(devices) > 1 else "cpu"
    gpu_line = "a GPU is available" if in_use != "cpu" else "no GPU found"
    return (f"**Device in use: `{in_use}`** — {gpu_line} ({', '.join(names[d] for d in devices)}); "
            f"{torch.get_num_threads()} PyTorch CPU threads, {os.cpu_count()} CPU cores.")


def device_problem(name: str) -> str | None:
    """Why torch cannot use device `name` on this machine (None: it can), in one line naming what can."""
    try:
        device = torch.device(str(name).strip())
    except (RuntimeError, ValueError):
        return f"{str(name)[:40]!r} is not a device: use one of {', '.join(available_devices())}"
    here = available_devices()
    if device.type == "cuda" and "cuda" not in here:
        return f"{name}: this machine has no CUDA GPU (it has {', '.join(here)})"
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        return f"{name}: this machine has {torch.cuda.device_count()} CUDA GPU(s), numbered from 0"
    if device.type not in here:
        return f"{name}: not available on this machine (it has {', '.join(here)})"
    return None
