import os
from pathlib import Path

import pytest

from models.core.atomic import atomic_file, atomic_folder, atomic_path, atomic_write_bytes, atomic_write_text, write_synced


def test_writes_whole_file_and_leaves_no_temp(tmp_path):
    p = atomic_write_text(tmp_path / "sub" / "a.txt", "one\r\ntwo\n")
    assert p.read_bytes() == b"one\r\ntwo\n"
    atomic_write_bytes(p, b"new")
    assert p.read_bytes() == b"new"
    assert sorted(x.name for x in p.parent.iterdir()) == ["a.txt"]


def test_failure_keeps_the_old_file_and_cleans_up(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(p, "w") as f:
            f.write("half")
            raise RuntimeError("disk full")
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["a.txt"]


def test_new_content_is_invisible_until_done_and_permissions_are_kept(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old")
    os.chmod(p, 0o600)
    with atomic_path(p) as tmp:
        tmp.write_text("new")
        assert p.read_text() == "old"
    assert p.read_text() == "new" and (p.stat().st_mode & 0o777) == 0o600


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="names an fd through Linux's /proc")
def test_a_path_written_by_another_library_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), real_replace(a, b)))
    with atomic_path(tmp_path / "a.bin") as tmp:
        tmp.write_bytes(b"written without our file handle")
    assert events == [("fsync", str(tmp)), ("replace", str(tmp))]


def test_atomic_folder_appears_whole_replaces_whole_and_keeps_the_old_on_failure(tmp_path):
    target = tmp_path / "run"
    with atomic_folder(target) as tmp:
        assert not target.exists()
        write_synced(tmp / "a", b"1")
        write_synced(tmp / "b", b"2")
    assert sorted(p.name for p in target.iterdir()) == ["a", "b"]
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            write_synced(tmp / "a", b"new")
            raise RuntimeError("crash between the two files")
    assert (target / "a").read_bytes() == b"1" and (target / "b").read_bytes() == b"2"
    with atomic_folder(target) as tmp:
        write_synced(tmp / "c", b"3")
    assert sorted(p.name for p in target.iterdir()) == ["c"]  # replaced whole, not merged
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temp or old folder left


def _device(path, kind=None):
    """A character device node like /dev/null (root only), made inside tmp_path so a failure harms nothing."""
    import stat

    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    os.mknod(path, (kind or stat.S_IFCHR) | 0o666, os.makedev(1, 3))
    return path


def test_a_character_device_is_written_through_never_replaced(tmp_path):
    """`--out /dev/null` as root turned /dev/null into a regular file: write into it instead."""
    import stat

    null = _device(tmp_path / "null")
    atomic_write_bytes(null, b"discarded")
    atomic_write_text(null, "discarded")
    with atomic_path(null) as tmp:
        tmp.write_bytes(b"discarded")
    assert stat.S_ISCHR(os.stat(null).st_mode)
    assert os.listdir(tmp_path) == ["null"]  # no temp file left beside it


def test_a_pipe_is_written_through(tmp_path):
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    atomic_write_bytes(fifo, b"through the pipe")
    reader.join(10)
    assert got == [b"through the pipe"] and os.listdir(tmp_path) == ["pipe"]


def test_a_block_device_or_socket_is_refused_and_a_run_folder_never_replaces_a_device(tmp_path):
    import socket
    import stat

    block = _device(tmp_path / "disk", stat.S_IFBLK)
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write_bytes(block, b"x")
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        with pytest.raises(OSError, match="not a regular file"):
            atomic_write_bytes(sock_path, b"x")
    finally:
        sock.close()
    null = _device(tmp_path / "null")
    with pytest.raises(OSError, match="not a folder"):
        with atomic_folder(null) as folder:
            write_synced(folder / "a.txt", b"a")
    assert stat.S_ISBLK(os.stat(block).st_mode) and stat.S_ISCHR(os.stat(null).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["disk", "null", "sock"]


KILL_BETWEEN_THE_RENAMES = r"""
import os, signal, sys
from models.core import atomic
real, calls = os.replace, []
def replace(a, b):
    calls.append(a)
    if len(calls) == {n}:  # SIGKILL right before this rename
        os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)
atomic.os.replace = replace
with atomic.atomic_folder(sys.argv[1]) as tmp:
    atomic.write_synced(tmp / "new.txt", b"new")
"""


@pytest.mark.parametrize("n, expected", [(2, "old.txt"), (1, "old.txt")])
def test_a_kill_in_the_middle_of_a_replace_is_undone_by_the_next_use(tmp_path, n, expected):
    """SIGKILL between the two renames left only hidden .run.old-* / .run.new-* folders: the run looked gone."""
    import subprocess
    import sys

    from models.core.atomic import recover_folder

    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    code = KILL_BETWEEN_THE_RENAMES.replace("{n}", str(n))
    run = subprocess.run([sys.executable, "-c", code, str(target)], cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, timeout=60)
    assert run.returncode == -9, run.stderr
    recover_folder(target, stale_after_s=0)
    assert sorted(p.name for p in target.iterdir()) == [expected]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the debris is gone


def test_a_finished_swap_only_loses_its_debris_and_a_fresh_temp_folder_is_left_alone(tmp_path):
    from models.core.atomic import recover_folder

    target = tmp_path / "run"
    target.mkdir()
    (target / "new.txt").write_text("new")
    (tmp_path / ".run.old-abc" / "run").mkdir(parents=True)  # killed before the old one was deleted
    (tmp_path / ".run.old-abc" / "run" / "old.txt").write_text("old")
    (tmp_path / ".run.new-xyz").mkdir()  # another process writing a new run right now
    recover_folder(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.new-xyz", "run"]
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]
    os.utime(tmp_path / ".run.new-xyz", (0, 0))  # an hour-old one is a killed write's
    recover_folder(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


KILLED_IN_THE_MIDDLE_OF_A_SAVE = """
import os, signal, sys
from models.core import atomic
with atomic.atomic_file(sys.argv[1], "w") as f:
    f.write("half of the new")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_save_killed_before_its_rename_leaves_a_temp_file_that_a_later_save_removes_once_stale(tmp_path):
    """A prompt file's save killed half way kept the old file but left a hidden .part1.toml.*.tmp forever."""
    import subprocess
    import sys

    target = tmp_path / "part1.toml"
    target.write_text("old")
    kill = [sys.executable, "-c", KILLED_IN_THE_MIDDLE_OF_A_SAVE, str(target)]
    for _ in range(2):
        run = subprocess.run(kill, cwd=Path(__file__).resolve().parents[2], capture_output=True, timeout=60)
        assert run.returncode == -9, run.stderr
    temps = sorted(p for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert len(temps) == 2 and all(p.name.startswith(".part1.toml.") for p in temps)
    assert target.read_text() == "old"
    os.utime(temps[0], (0, 0))  # an hour-old one is a killed save's; the other may be a save in progress
    other = tmp_path / ".part1.toml.b.12345678.tmp"  # a temp file of another file, part1.toml.b
    other.write_text("x")
    os.utime(other, (0, 0))
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([temps[1].name, other.name, "part1.toml"])
