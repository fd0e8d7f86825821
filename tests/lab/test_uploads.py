"""Uploaded CSVs on disk (models/lab/uploads.py) are bounded in age, count and bytes, and a
session's own uploads can be forgotten when it ends."""

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


def test_a_classmates_big_uploads_never_delete_a_live_sessions_file(tmp_path, monkeypatch):
    """17 × 31.5 MB CSVs in a minute deleted a classmate's upload mid-use: the server's bound now makes
    room only from closed sessions, and says no when the live sessions' files fill it."""
    from models.lab.uploads import UploadRefused, owner_key

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 1000)
    mine = save_upload("mine.csv", b"m" * 100, folder=tmp_path, owner="A")
    live = {owner_key("A")}
    saved = []
    for i in range(17):
        live.add(owner_key(f"s{i}"))
        try:
            saved.append(save_upload(f"big{i}.csv", bytes([65 + i]) * 300, folder=tmp_path, owner=f"s{i}",
                                     live_owners=live))
        except UploadRefused as refused:
            assert "upload space is full" in str(refused)
    assert mine.read_bytes() == b"m" * 100 and len(saved) == 3  # 100 + 3 × 300 fit in 1000
    live -= {owner_key("s0"), owner_key("s1")}  # two tabs closed: their files make room
    again = save_upload("again.csv", b"z" * 300, folder=tmp_path, owner="s9", live_owners=live)
    assert again.exists() and mine.exists() and saved[2].exists()
    assert not saved[0].exists() and sum(p.stat().st_size for p in tmp_path.rglob("*.csv")) <= 1000


def test_each_session_has_its_own_quota_and_makes_room_from_its_own_files(tmp_path, monkeypatch):
    from models.lab.uploads import owner_key

    monkeypatch.setattr(uploads, "MAX_SESSION_FILES", 2)
    other = save_upload("other.csv", b"o" * 10, folder=tmp_path, owner="B")
    paths = []
    for i in range(4):
        paths.append(save_upload(f"p{i}.csv", bytes([48 + i]) * 10, folder=tmp_path, owner="A",
                                 live_owners={owner_key("A"), owner_key("B")}))
        _age(paths[-1], 100 - i)
    assert [p.exists() for p in paths] == [False, False, True, True] and other.exists()

