import os
import stat

import pytest

from rnnkit.io import atomic_path, atomic_write_text


def test_atomic_write_replaces_and_uses_normal_permissions(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "good")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def _run(path, kind="lm", overwrite=False, fail=False):
    from rnnkit.io import run_folder

    with run_folder(path, kind, overwrite=overwrite) as tmp:
        (tmp / "result.txt").write_text(kind)
        if fail:
            raise RuntimeError("crash mid-run")


def test_a_run_folder_appears_only_when_complete_and_marks_its_command(tmp_path):
    import json

    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        _run(out, fail=True)
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temporary left
    _run(out)
    assert (out / "result.txt").read_text() == "lm"
    assert json.loads((out / "run.json").read_text())["command"] == "lm"


def test_a_run_replaces_only_an_earlier_run_of_its_own_command_and_only_when_asked(tmp_path):
    out = tmp_path / "run"
    _run(out)
    with pytest.raises(FileExistsError, match="holds a lm run; choose a new folder, or overwrite=True"):
        _run(out)
    with pytest.raises(FileExistsError, match="holds a lm run, which a forecast run never replaces"):
        _run(out, kind="forecast", overwrite=True)
    with pytest.raises(RuntimeError):  # a failed replacement keeps the old run
        _run(out, overwrite=True, fail=True)
    assert (out / "result.txt").read_text() == "lm"
    _run(out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_users_folder_is_never_replaced_even_with_overwrite(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="not empty|not an rnnkit run folder"):
            _run(mine, overwrite=overwrite)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        _run(tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    _run(empty)  # an empty folder is taken
    assert (empty / "result.txt").exists()


def test_a_folder_that_cannot_be_created_is_named_without_temporary_names(tmp_path, monkeypatch):
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".run.x1y2.tmp"))

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(PermissionError, match=r"cannot create the run folder out_dir '.*run' \(Permission denied\); "
                                              r"choose a folder you can write to") as caught:
        _run(tmp_path / "run")
    assert ".tmp" not in str(caught.value)
