"""The check every command runs first is remembered across processes when it
passed, keyed on every file it depends on (tempdir's private folder); a
changed file, or a check that found problems, is always checked again."""

from __future__ import annotations

import os

import pytest

from finops.engine import check

from test_check import GOOD


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A private temp root of its own, and no result cached in this process."""
    monkeypatch.setenv("FINOPS_TEMP_DIR", str(tmp_path / "private"))
    monkeypatch.setattr(check, "_cache", {})
    runs = []
    real = check._run_checks

    def counted(folders):
        runs.append(folders)
        return real(folders)

    monkeypatch.setattr(check, "_run_checks", counted)
    return runs


def _analyzer_dir(tmp_path, text=GOOD):
    folder = tmp_path / "sql"
    folder.mkdir(exist_ok=True)
    (folder / "probe.sql").write_text(text, encoding="utf-8")
    return folder


def _new_process(monkeypatch):
    monkeypatch.setattr(check, "_cache", {})


def test_a_clean_check_is_not_run_again_by_the_next_process(fresh, monkeypatch, tmp_path):
    folder = _analyzer_dir(tmp_path)
    first = check.check_analyzers([folder])
    assert first.ok and len(fresh) == 1
    _new_process(monkeypatch)
    again = check.check_analyzers([folder])
    assert len(fresh) == 1  # remembered: no SQL run
    assert again.ok and list(again.analyzers) == list(first.analyzers)
    assert again.files == first.files
    assert again.analyzers["probe"].queries[0].sql == first.analyzers["probe"].queries[0].sql


def test_any_change_to_a_file_checks_again(fresh, monkeypatch, tmp_path):
    folder = _analyzer_dir(tmp_path)
    assert check.check_analyzers([folder]).ok
    _new_process(monkeypatch)
    probe = folder / "probe.sql"
    st = probe.stat()
    # same size, same modification time: the change time and inode still differ
    text = probe.read_text(encoding="utf-8").replace("Probe", "Prob3")
    probe.write_text(text, encoding="utf-8")
    os.utime(probe, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert probe.stat().st_size == st.st_size
    assert check.check_analyzers([folder]).ok
    assert len(fresh) == 2


def test_a_check_with_problems_is_never_remembered(fresh, monkeypatch, tmp_path):
    folder = _analyzer_dir(tmp_path, GOOD.replace("FROM probe_slow;\n\n-- query: by_model",
                                                  "FROM probe_missing;\n\n-- query: by_model"))
    assert not check.check_analyzers([folder]).ok
    _new_process(monkeypatch)
    assert not check.check_analyzers([folder]).ok
    assert len(fresh) == 2


def test_without_the_cache_the_check_always_runs(fresh, monkeypatch, tmp_path):
    folder = _analyzer_dir(tmp_path)
    assert check.check_analyzers([folder]).ok
    assert check.check_analyzers([folder], use_cache=False).ok
    assert len(fresh) == 2


def test_the_remembered_verdict_lives_in_the_private_folder(fresh, tmp_path):
    folder = _analyzer_dir(tmp_path)
    assert check.check_analyzers([folder]).ok
    remembered = list((tmp_path / "private" / "checked").glob("clean-*"))
    assert len(remembered) == 1
    assert oct((tmp_path / "private" / "checked").stat().st_mode & 0o777) == "0o700"
