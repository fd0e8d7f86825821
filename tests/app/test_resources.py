"""Server-wide resources: a closed tab's uploads are deleted by the reaper; every upload is size-limited."""

from __future__ import annotations

from pathlib import Path

from app.ui import uploads
from models.lab.uploads import save_upload
from tests.helpers import new_session

ROOT = Path(__file__).resolve().parents[2]


def test_a_closed_sessions_uploads_are_forgotten(tmp_path, monkeypatch):
    monkeypatch.setattr("models.lab.uploads.UPLOAD_DIR", tmp_path)
    monkeypatch.setattr(uploads, "forget_uploads", lambda paths: __import__(
        "models.lab.uploads", fromlist=["forget_uploads"]).forget_uploads(paths, folder=tmp_path))
    mine = save_upload("a.csv", b"x,y\n1,2\n", folder=tmp_path, owner="closed-tab")
    theirs = save_upload("a.csv", b"x,y\n1,2\n", folder=tmp_path, owner="open-tab")
    monkeypatch.setattr(uploads, "session_id", lambda: "closed-tab")
    uploads.remember_upload(mine)
    monkeypatch.setattr(uploads, "session_id", lambda: "open-tab")
    uploads.remember_upload(theirs)
    monkeypatch.setattr(uploads, "session_alive", lambda owner: owner == "open-tab")
    uploads._forget_closed_sessions_uploads()
    assert not mine.exists() and theirs.exists()
    assert "closed-tab" not in uploads._uploads and uploads._uploads.pop("open-tab") == [str(theirs)]


def test_uploads_are_swept_from_the_first_page_view_not_from_the_first_train():
    """The sweep ran in the training pool's reaper, started by the first Train: 481 MB of closed tabs'
    uploads stayed on disk while nobody trained."""
    import threading

    at = new_session().run()
    assert not at.exception, at.exception
    assert any(t.name == "uploads-sweeper" and t.is_alive() for t in threading.enumerate())


def test_every_upload_is_size_limited_by_the_server_and_by_its_widget():
    """A 150 MB flow zip was accepted (+430 MB of server memory) where the Score lab refused 110 MB."""
    import tomllib

    from models.lab.run_folder import MAX_ZIP_BYTES
    from tests.helpers import open_page

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] <= 150  # Streamlit's own default is 200 MB
    for page, key, limit in (("views/how_flux_samples.py", "fx_zip_upload", MAX_ZIP_BYTES // 1_000_000),
                             ("views/score_lab.py", "sl_zip_upload", MAX_ZIP_BYTES // 1_000_000)):
        at = open_page(page)
        assert at.file_uploader(key=key).proto.max_upload_size_mb == limit, page
