"""Uploaded CSVs on disk (models/lab/uploads.py) are bounded in age, count and bytes, and a
session's own uploads can be forgotten when it ends (issue 8, item 13)."""

from __future__ import annotations

import os
import time

import pytest

from models.lab import uploads
from models.lab.uploads import forget_uploads, prune_uploads, save_upload


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def _files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


def test_uploads_older_than_a_day_are_removed(tmp_path):
    old = save_upload("old.csv", b"x,y\n1,2\n", folder=tmp_path)
    _age(old, 2 * 24 * 3600)
    new = save_upload("new.csv", b"x,y\n3,4\n", folder=tmp_path)
    assert not old.exists() and not old.parent.exists()  # its hash folder goes with it
    assert new.exists()


def test_at_most_n_files_are_kept_oldest_removed_first(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_FILES", 3)
    paths = []
    for i in range(5):
        paths.append(save_upload(f"p{i}.csv", f"x,y\n{i},{i}\n".encode(), folder=tmp_path))
        _age(paths[-1], 100 - i)  # p0 oldest
    prune_uploads(tmp_path)
    assert _files(tmp_path) == ["p2.csv", "p3.csv", "p4.csv"]


def test_at_most_m_bytes_are_kept_and_the_new_upload_always_stays(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    for i in range(4):
        p = save_upload(f"p{i}.csv", bytes([48 + i]) * 40, folder=tmp_path)
        _age(p, 100 - i)
    big = save_upload("big.csv", b"9" * 150, folder=tmp_path)  # over the budget on its own: still kept
    assert big.exists() and _files(tmp_path) == ["big.csv"]


def test_forget_uploads_removes_a_sessions_files_and_nothing_outside_the_folder(tmp_path):
    folder, elsewhere = tmp_path / "uploads", tmp_path / "elsewhere.csv"
    elsewhere.write_text("not an upload")
    a = save_upload("a.csv", b"x,y\n1,2\n", folder=folder)
    b = save_upload("b.csv", b"x,y\n3,4\n", folder=folder)
    forget_uploads([a, str(elsewhere), folder / "never-saved.csv", folder], folder=folder)
    assert not a.exists() and not a.parent.exists()
    assert b.exists() and elsewhere.read_text() == "not an upload" and folder.is_dir()


def test_two_sessions_uploading_the_same_file_do_not_share_it(tmp_path):
    a = save_upload("same.csv", b"x,y\n1,2\n", folder=tmp_path, owner="session-a")
    b = save_upload("same.csv", b"x,y\n1,2\n", folder=tmp_path, owner="session-b")
    assert a != b
    forget_uploads([a], folder=tmp_path)
    assert b.read_bytes() == b"x,y\n1,2\n"
    assert save_upload("same.csv", b"x,y\n1,2\n", folder=tmp_path, owner="session-b") == b


@pytest.mark.parametrize("name", ["../../etc/passwd", "..", "", ".hidden.csv"])
def test_an_upload_name_never_leaves_the_folder(tmp_path, name):
    p = save_upload(name, b"x,y\n1,2\n", folder=tmp_path / "up")
    assert p.resolve().is_relative_to((tmp_path / "up").resolve())


def test_a_write_in_progress_is_left_alone_but_an_orphaned_one_goes_after_a_day(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "MAX_UPLOAD_FILES", 1)
    (tmp_path / "abc").mkdir()
    fresh, orphan = tmp_path / "abc" / ".p.csv.1.tmp", tmp_path / "abc" / ".q.csv.2.tmp"
    fresh.write_bytes(b"half")
    orphan.write_bytes(b"half")
    _age(orphan, 2 * 24 * 3600)
    save_upload("p.csv", b"x,y\n1,2\n", folder=tmp_path)
    assert fresh.exists() and not orphan.exists()
