"""Altair charts as Vega-Lite dicts: converted without `st.altair_chart`, and built once per distinct input.

Why: `st.altair_chart` validates every chart against the Vega-Lite JSON schema and converts its
data on every rerun, under one process-wide lock. With a class on the server, that was most of a
page load (a Langevin page: ~0.2 s of the server's one Python thread, 85 % of it in building and
converting charts), and the lock made sessions queue behind each other's charts.

* `vega_lite(chart)`   an Altair chart → a Vega-Lite dict, its data frames as named Arrow datasets
                       (the bytes `st.vega_lite_chart` sends as they are); no schema validation
                       (the builders' tests validate them), no global Altair setting touched.
* `@cached_chart`      on a chart builder: the same inputs (numbers, strings, arrays, tensors) give
                       the same dict without rebuilding; every call gets its own copy to edit.
* `dataset_rows(spec)` the rows of each dataset, for tests and tools that read a chart's data.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import threading
from typing import Callable, Mapping

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

MAX_CACHED = 256  # charts kept per process (a spec with its data is at most a few hundred kB)
_DEFAULT_VIEW = {"continuousWidth": 300, "continuousHeight": 300}  # Altair's default theme; Streamlit drops it


def _arrow_bytes(frame: pd.DataFrame) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _with_named_data(chart, datasets: dict[str, bytes]):
    """A shallow copy of `chart` (and of its layers / sub-charts) whose data frames are named datasets."""
    chart = chart.copy(deep=False)
    data = getattr(chart, "data", alt.Undefined)
    if isinstance(data, pd.DataFrame):
        raw = _arrow_bytes(data)
        name = "data-" + hashlib.blake2b(raw, digest_size=8).hexdigest()
        datasets[name] = raw
        chart.data = alt.NamedData(name=name)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        parts = getattr(chart, key, alt.Undefined)
        if isinstance(parts, list):
            setattr(chart, key, [_with_named_data(part, datasets) for part in parts])
    spec = getattr(chart, "spec", alt.Undefined)  # a facet's inner chart
    if isinstance(spec, (alt.Chart, alt.LayerChart)):
        chart.spec = _with_named_data(spec, datasets)
    return chart


def vega_lite(chart) -> dict:
    """The Vega-Lite dict of an Altair chart, data as named Arrow datasets in spec["datasets"]."""
    datasets: dict[str, bytes] = {}
    spec = _with_named_data(chart, datasets).to_dict(validate=False)
    view = spec.get("config", {}).get("view", {})
    for key, value in _DEFAULT_VIEW.items():
        if view.get(key) == value:
            del view[key]
    if "config" in spec and not view:
        spec["config"].pop("view", None)
        if not spec["config"]:
            del spec["config"]
    if datasets:
        spec["datasets"] = {**spec.get("datasets", {}), **datasets}
    return spec


def dataset_rows(spec: dict) -> dict[str, list[dict]]:
    """{dataset name: rows}: Arrow datasets decoded, inline ones as they are."""
    out = {}
    for name, data in spec.get("datasets", {}).items():
        out[name] = pa.ipc.open_stream(data).read_all().to_pylist() if isinstance(data, bytes) else list(data)
    return out


# ----------------------------------------------------------------------------- the cache

class _Uncachable(TypeError):
    pass


def _feed(h, value) -> None:
    """Feed one argument into the hash, tagged by its type (so 1, 1.0, "1" and [1] all differ)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        _feed(h, value.detach().cpu().numpy())
    elif isinstance(value, np.ndarray):
        arr = np.ascontiguousarray(value)
        h.update(f"nd:{arr.dtype.str}:{arr.shape};".encode())
        h.update(arr.view(np.uint8).reshape(-1) if arr.dtype != object else repr(arr.tolist()).encode())
    elif isinstance(value, np.generic):
        _feed(h, value.item())
    elif isinstance(value, pd.DataFrame):
        h.update(f"df:{list(value.columns)!r};".encode())
        for column in value.columns:
            _feed(h, value[column].to_numpy())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}:".encode())
        for item in value:
            _feed(h, item)
        h.update(b"]")
    elif isinstance(value, Mapping):  # in order: a legend's order is its keys' order
        h.update(f"map[{len(value)}:".encode())
        for key, item in value.items():
            _feed(h, key)
            _feed(h, item)
        h.update(b"]")
    else:
        raise _Uncachable(type(value).__name__)


def _fingerprint(name: str, args: tuple, kwargs: dict) -> str:
    h = hashlib.blake2b(name.encode(), digest_size=20)
    _feed(h, args)
    _feed(h, sorted(kwargs.items()))
    return h.hexdigest()


class _Specs:
    """A small thread-safe LRU of (spec JSON without datasets, datasets)."""

    def __init__(self, size: int):
        self.size, self.lock, self.items = size, threading.Lock(), collections.OrderedDict()

    def get(self, key: str):
        with self.lock:
            hit = self.items.get(key)
            if hit is not None:
                self.items.move_to_end(key)
            return hit

    def put(self, key: str, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_SPECS = _Specs(MAX_CACHED)


def cached_count() -> int:
    return len(_SPECS.items)


def clear_cache() -> None:
    _SPECS.clear()


def _frozen(spec: dict) -> tuple[str, dict]:
    spec = dict(spec)
    datasets = spec.pop("datasets", {})
    return json.dumps(spec), datasets


def _thawed(frozen: tuple[str, dict]) -> dict:
    text, datasets = frozen
    spec = json.loads(text)  # a fresh dict each call: callers may edit it (title lines, font sizes)
    if datasets:
        spec["datasets"] = dict(datasets)  # bytes: shared, never edited
    return spec


def cached_chart(builder: Callable) -> Callable[..., dict]:
    """Make an Altair chart builder return its Vega-Lite dict, built once per distinct input.

    The builder must be a pure function of its arguments. An argument of a type the cache cannot
    fingerprint (an object it does not know) makes that call build afresh, never a wrong hit.
    """
    name = f"{builder.__module__}.{builder.__qualname__}"

    @functools.wraps(builder)
    def build(*args, **kwargs) -> dict:
        try:
            key = _fingerprint(name, args, kwargs)
        except _Uncachable:
            return vega_lite(builder(*args, **kwargs))
        frozen = _SPECS.get(key)
        if frozen is None:
            frozen = _frozen(vega_lite(builder(*args, **kwargs)))
            _SPECS.put(key, frozen)
        return _thawed(frozen)

    build.altair = builder  # the Altair chart itself, for the builder's own tests
    return build
