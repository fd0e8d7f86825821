"""Options are spelled out on every command line: argparse's abbreviations (`--mod` for `--model`) made
`--mod flow` say "invalid choice: 'flow'", and a later option could silently change what one means."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("module, argv", [
    ("models.score.cli", ["train", "--mod", "flow", "--dataset", "moons", "--steps", "1", "--out", "run"]),
    ("models.score.cli", ["train", "--dataset", "moons", "--ste", "1", "--out", "run"]),
    ("models.flux.cli", ["tokens", "a cat", "--max", "5"]),
    ("models.text_to_image.cli", ["tokens", "a one", "--run", "run", "--he"]),
])
def test_an_abbreviated_option_is_refused_in_one_line(module, argv, capsys, tmp_path, monkeypatch):
    import importlib

    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(module).main
    try:
        rc = main(argv)
    except SystemExit as stop:  # a parser that exits by itself
        rc = stop.code
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1, err
    assert "unrecognized arguments" in err and "invalid choice" not in err, err
    assert list(tmp_path.iterdir()) == []
