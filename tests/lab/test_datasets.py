"""Built-in 2-D datasets, CSV points and text-as-points."""

import io
import math
import os

import numpy as np
import pytest
import torch

from models.core.errors import InputError
from models.lab.datasets import (
    DATASET_DESCRIPTIONS,
    DATASET_NAMES,
    DatasetSpec,
    dataset_mixture,
    load_dataset,
    read_points_csv,
    sample_dataset,
    text_to_points,
    write_points_csv,
)

STANDARDIZED = ("moons", "swiss-roll", "checkerboard", "spirals", "circles")


def test_names_and_descriptions_match():
    assert set(DATASET_DESCRIPTIONS) == set(DATASET_NAMES)
    assert all(DATASET_DESCRIPTIONS[n].strip() for n in DATASET_NAMES)


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_shape_dtype_and_seeding(name):
    a = sample_dataset(name, 500, seed=3)
    assert a.shape == (500, 2) and a.dtype == torch.float32 and a.device.type == "cpu"
    assert torch.isfinite(a).all()
    assert torch.equal(a, sample_dataset(name, 500, seed=3))
    assert not torch.equal(a, sample_dataset(name, 500, seed=4))


def test_seeding_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    sample_dataset("moons", 100, seed=0)
    text_to_points("Hi", 100, seed=0)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", STANDARDIZED)
def test_fixed_standardization_gives_unit_spread(name):
    # The constants are closed forms; a large draw must agree with them.
    x = sample_dataset(name, 200_000, seed=1).double()
    assert x.mean(0).abs().max() < 0.02
    overall_std = x.var(0).mean().sqrt().item()
    assert abs(overall_std - 1.0) < 0.02
    assert x.abs().max() < 3.0


def test_standardization_is_fixed_not_per_sample():
    # Per-sample standardization would make every small draw exactly mean 0 / std 1;
    # fixed constants leave sampling noise, so two small draws differ in their moments.
    a, b = sample_dataset("moons", 20, seed=5), sample_dataset("moons", 20, seed=6)
    assert a.mean(0).abs().max() > 1e-3
    assert abs(a.var(0).mean().sqrt() - b.var(0).mean().sqrt()) > 1e-4


def test_moons_shape_is_two_arcs():
    # Undo the fixed standardization: moon 1 points sit near the unit circle, moon 2 near the shifted one.
    from models.lab import datasets as d

    x = sample_dataset("moons", 4000, seed=0).double() * d._MOONS_SCALE + torch.tensor(d._MOONS_MEAN).double()
    r1 = x.norm(dim=1)
    r2 = (x - torch.tensor([1.0, 0.5]).double()).norm(dim=1)
    on_an_arc = torch.minimum((r1 - 1).abs(), (r2 - 1).abs())
    assert (on_an_arc < 0.2).float().mean() > 0.99


def test_checkerboard_only_dark_squares():
    x = sample_dataset("checkerboard", 5000, seed=0) * math.sqrt(4 / 3)
    cells = (torch.floor(x[:, 0]) + torch.floor(x[:, 1])) % 2
    assert torch.all(cells == cells[0])  # all points on squares of one colour
    assert x.abs().max() <= 2.0


@pytest.mark.parametrize("name", ["8-gaussians", "ncsn-mixture"])
def test_mixture_matches_samples_exactly(name):
    mix = dataset_mixture(name)
    assert mix is not None
    x = sample_dataset(name, 1000, seed=7)
    # The samples are literally the mixture's own draws with the same seed.
    assert torch.equal(x, mix.sample(1000, generator=torch.Generator().manual_seed(7)))
    # Moments: mean Σ w μ and total per-axis variance Σ w (s² + μ²) − mean².
    big = sample_dataset(name, 200_000, seed=0).double()
    w = torch.tensor(mix.weights).double()
    mu = torch.tensor(mix.means).double()
    s = torch.tensor(mix.stds).double()
    mean = (w[:, None] * mu).sum(0)
    var = (w[:, None] * (s[:, None] ** 2 + mu**2)).sum(0) - mean**2
    assert torch.allclose(big.mean(0), mean, atol=0.05)
    assert torch.allclose(big.var(0), var, rtol=0.03)


def test_mixture_log_prob_is_the_sample_density():
    # Histogram density of the samples in a small box ≈ exp(log_prob) at the box centre.
    mix = dataset_mixture("ncsn-mixture")
    x = sample_dataset("ncsn-mixture", 400_000, seed=2)
    for c in ([5.0, 5.0], [-5.0, -5.0], [4.0, 6.0]):
        centre = torch.tensor([c])
        h = 0.25
        inside = ((x - centre).abs() < h / 2).all(1).float().mean().item()
        expected = mix.log_prob(centre).exp().item() * h * h
        assert inside == pytest.approx(expected, rel=0.1)


def test_ncsn_mixture_weights():
    x = sample_dataset("ncsn-mixture", 20_000, seed=0)
    frac_low = (x.sum(1) < 0).float().mean().item()
    assert frac_low == pytest.approx(0.2, abs=0.01)


def test_eight_gaussians_layout():
    mix = dataset_mixture("8-gaussians")
    mu = mix.means_tensor()
    assert mu.shape == (8, 2)
    assert torch.allclose(mu.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    assert sum(mix.weights) == pytest.approx(1.0)


def test_non_mixture_datasets_have_no_mixture():
    for name in STANDARDIZED:
        assert dataset_mixture(name) is None


def test_unknown_name_suggests():
    with pytest.raises(InputError, match="did you mean 'moons'"):
        sample_dataset("moon", 10)
    with pytest.raises(InputError, match="checkerboard"):
        dataset_mixture("nothing-like-it")


@pytest.mark.parametrize("bad", [0, -5, 2.5, "10", True, 10**9])
def test_bad_n(bad):
    with pytest.raises(InputError):
        sample_dataset("moons", bad)


def test_numpy_int_n_ok():
    assert sample_dataset("circles", np.int64(7)).shape == (7, 2)


# ----------------------------------------------------------------------------- CSV


def _write(tmp_path, text, name="pts.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _rows(n=12):
    return [(0.5 * i, -1.25 * i + 0.125) for i in range(n)]


def test_csv_roundtrip_atomic(tmp_path):
    pts = sample_dataset("spirals", 300, seed=1)
    path = write_points_csv(pts, tmp_path / "sub" / "points.csv")
    assert path.read_text().startswith("x,y\n")
    back = read_points_csv(path)
    assert torch.equal(back, pts)  # 9 significant digits round-trip float32
    assert sorted(os.listdir(path.parent)) == ["points.csv"]  # no temp files left


def test_csv_overwrite_keeps_old_file_on_failure(tmp_path):
    path = write_points_csv(torch.zeros(10, 2), tmp_path / "p.csv")
    with pytest.raises(ValueError):
        write_points_csv(torch.zeros(10, 3), path)
    assert read_points_csv(path).shape == (10, 2)
    assert sorted(os.listdir(tmp_path)) == ["p.csv"]


def test_csv_without_header_and_whitespace(tmp_path):
    text = "\n".join(f"  {x} ,\t{y}  " for x, y in _rows()) + "\n\n"
    pts = read_points_csv(_write(tmp_path, text))
    assert pts.shape == (12, 2)
    assert torch.allclose(pts, torch.tensor(_rows(), dtype=torch.float32))


def test_csv_header_any_two_names(tmp_path):
    text = "a , b\n" + "\n".join(f"{x},{y}" for x, y in _rows())
    assert read_points_csv(_write(tmp_path, text)).shape == (12, 2)


def test_csv_header_picks_x_y_columns(tmp_path):
    text = "id,Y,label,X\n" + "\n".join(f"{i},{y},foo,{x}" for i, (x, y) in enumerate(_rows()))
    pts = read_points_csv(_write(tmp_path, text))
    assert torch.allclose(pts, torch.tensor(_rows(), dtype=torch.float32))


def test_csv_from_buffers():
    text = "x,y\n" + "\n".join(f"{x},{y}" for x, y in _rows())
    a = read_points_csv(io.StringIO(text))
    upload = io.BytesIO(("\ufeff" + text).encode("utf-8"))  # BOM, as Excel writes
    upload.name = "/some/dir/mine.csv"
    upload.read()  # already read once, as an upload widget's buffer may be
    b = read_points_csv(upload)
    assert torch.equal(a, b) and a.shape == (12, 2)
    bad = io.BytesIO(b"x,y\n1,2\n")
    bad.name = "mine.csv"
    with pytest.raises(InputError, match="^mine.csv has only 1 point row; at least 10"):
        read_points_csv(bad)


def test_csv_byte_cap(tmp_path, monkeypatch):
    from models.lab import points_csv

    monkeypatch.setattr(points_csv, "MAX_CSV_BYTES", 100)
    with pytest.raises(InputError, match="larger than"):
        read_points_csv(_write(tmp_path, "1.0,2.0\n" * 20))


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("", "empty"),
        ("\n  \n", "empty"),
        ("x\n" + "\n".join(str(i) for i in range(20)), "header has 1 columns"),
        ("\n".join(str(i) for i in range(20)), "line 1: one column"),
        ("1;2\n" * 20, "separator must be a comma"),
        ("x,y\n" + "1,2\n" * 5 + "3,abc\n" + "1,2\n" * 5, r"line 7: 'abc' is not a number"),
        ("x,y\n" + "1,2\n" * 5 + "nan,1\n" + "1,2\n" * 5, r"line 7: 'nan' is not a finite number"),
        ("x,y\n" + "1,2\n" * 5 + "1,inf\n" + "1,2\n" * 5, "line 7.*finite"),
        ("x,y\n" + "1,2\n" * 9, "only 9 point rows; at least 10"),
        ("1,2,3\n" * 20, "line 1: 3 columns found, expected 2"),
        ("x,y\n" + "1,2\n" * 5 + "1,2,3\n" + "1,2\n" * 5, "line 7: 3 columns"),
        ("a,b,c\n" + "1,2,3\n" * 20, "no 'x' and 'y'"),
    ],
)
def test_csv_errors(tmp_path, text, pattern):
    with pytest.raises(InputError, match=pattern) as e:
        read_points_csv(_write(tmp_path, text))
    assert "\n" not in str(e.value)  # one line for the CLI


def test_csv_quoted_fields_and_any_line_ending(tmp_path):
    rows = _rows()
    quoted = '"x", "y"\r\n' + "\r\n".join(f'"{x}",{y}' for x, y in rows)   # Excel-style, with CRLF
    old_mac = "x,y\r" + "\r".join(f"{x},{y}" for x, y in rows)                 # bare CR line ends
    expected = torch.tensor(rows, dtype=torch.float32)
    for text in (quoted, old_mac):
        p = tmp_path / "q.csv"
        p.write_bytes(text.encode())
        assert torch.equal(read_points_csv(p), expected)


def test_csv_quoted_comma_is_one_field_and_line_numbers_count_blank_lines(tmp_path):
    text = "x,y\n\n" + "1,2\n" * 10 + '"1,5",2\n'  # line 13: a decimal comma inside quotes is one field
    with pytest.raises(InputError, match=r"line 13: '1,5' is not a number"):
        read_points_csv(_write(tmp_path, text))


def test_csv_missing_and_folder_and_binary(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_points_csv(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="folder"):
        read_points_csv(tmp_path)
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(InputError, match="UTF-8"):
        read_points_csv(p)


def test_csv_row_cap(tmp_path, monkeypatch):
    from models.lab import points_csv

    monkeypatch.setattr(points_csv, "MAX_CSV_ROWS", 50)
    with pytest.raises(InputError, match="at most 50 points"):
        read_points_csv(_write(tmp_path, "1,2\n" * 51))
    assert read_points_csv(_write(tmp_path, "1,2\n" * 50)).shape == (50, 2)


# ----------------------------------------------------------------------------- text


def test_text_points_basic():
    p = text_to_points("Hello", 4000, seed=0)
    assert p.shape == (4000, 2) and p.dtype == torch.float32
    assert torch.equal(p, text_to_points("Hello", 4000, seed=0))
    assert not torch.equal(p, text_to_points("Hello", 4000, seed=1))
    # roughly standardized: centred, overall std ≈ 1, wider than tall (one scale keeps the aspect)
    assert p.mean(0).abs().max() < 0.1
    assert abs(p.var(0).mean().sqrt().item() - 1) < 0.05
    width = p[:, 0].max() - p[:, 0].min()
    height = p[:, 1].max() - p[:, 1].min()
    assert width > 2 * height


def test_text_reads_upright():
    # "T": the bar is at the top, so in y-up coordinates the widest row is at high y.
    p = text_to_points("T", 20000, seed=0)
    top = p[p[:, 1] > p[:, 1].quantile(0.9)]
    bottom = p[p[:, 1] < p[:, 1].quantile(0.1)]
    assert (top[:, 0].max() - top[:, 0].min()) > 2 * (bottom[:, 0].max() - bottom[:, 0].min())


def test_text_jitter_is_continuous():
    p = text_to_points("I", 2000, seed=0)
    assert len(torch.unique(p[:, 0])) > 1900  # sub-pixel jitter: no repeated grid coordinates


@pytest.mark.parametrize(
    "text, pattern",
    [("", "empty"), ("   ", "empty"), ("x" * 25, "at most 24"), ("a\nb", "single line"), ("héllo", "cannot draw 'é'")],
)
def test_text_errors(text, pattern):
    with pytest.raises(InputError, match=pattern):
        text_to_points(text, 100)


def test_text_max_length_ok():
    assert text_to_points("  " + "w" * 24 + "  ", 50).shape == (50, 2)


# ----------------------------------------------------------------------------- specs


def test_spec_roundtrip_and_describe(tmp_path):
    specs = [DatasetSpec.builtin("moons"), DatasetSpec.csv(tmp_path / "a.csv"), DatasetSpec.from_text("Hi")]
    for s in specs:
        assert DatasetSpec.from_dict(s.to_dict()) == s
    assert specs[0].to_dict() == {"kind": "builtin", "name": "moons"}
    assert [s.describe() for s in specs] == ["moons", "CSV: a.csv", "text: 'Hi'"]


def test_spec_errors():
    with pytest.raises(InputError, match="did you mean 'swiss-roll'"):
        DatasetSpec.builtin("swiss_roll")
    with pytest.raises(InputError, match="kind"):
        DatasetSpec(kind="image")
    with pytest.raises(InputError, match="needs a file path"):
        DatasetSpec(kind="csv")
    with pytest.raises(InputError, match="empty"):
        DatasetSpec.from_text(" ")
    with pytest.raises(InputError, match="unknown dataset config keys: colour"):
        DatasetSpec.from_dict({"kind": "builtin", "name": "moons", "colour": "red"})
    with pytest.raises(InputError, match="no dataset name"):
        DatasetSpec.from_dict({"kind": "builtin"})


def test_load_dataset_each_kind(tmp_path):
    a = load_dataset(DatasetSpec.builtin("circles"), 100, seed=1)
    assert torch.equal(a, sample_dataset("circles", 100, seed=1))
    path = write_points_csv(a[:30], tmp_path / "c.csv")
    assert torch.equal(load_dataset(DatasetSpec.csv(path), 5, seed=0), a[:30])  # n ignored for CSV
    assert load_dataset(DatasetSpec.from_text("ok"), 77, seed=0).shape == (77, 2)
    with pytest.raises(InputError, match="not found"):
        load_dataset(DatasetSpec.csv(tmp_path / "gone.csv"), 10)


def test_csv_messages_name_the_file_not_the_server_folder(tmp_path):
    """The Score lab shows these on the page: an upload's server path is not the class's to see."""
    from models.lab.datasets import read_points_csv

    secret = tmp_path / "server-uploads"
    secret.mkdir()
    (secret / "folder.csv").mkdir()
    for path, words in ((secret / "gone.csv", "not found: gone.csv"), (secret / "folder.csv", "folder.csv is a folder")):
        with pytest.raises(InputError, match=words) as err:
            read_points_csv(path)
        assert "server-uploads" not in str(err.value)
