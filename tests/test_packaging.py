"""`pip install .` gives a finops that finds its SQL, templates and viewer anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import write_calls

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                           "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"pip wheel failed: {proc.stderr[-2000:]}")
    return next(out.glob("finops-*.whl"))


def test_wheel_installs_everything_under_the_finops_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("finops-")}
    assert top == {"finops"}, f"generic top-level packages in the wheel: {top}"
    for needed in ["finops/engine/cli.py", "finops/simulator/__init__.py",
                   "finops/simulator/scenarios/burst.py", "finops/sql/calls.sql",
                   "finops/sql/finops/understanding.sql", "finops/sql/ubr/features.sql"]:
        assert needed in names
    assert any(n.startswith("finops/templates/") and n.endswith(".html") for n in names)
    assert any(n.startswith("finops/viewer/") for n in names)
    assert any(n.endswith("chart.umd.min.js") or n.endswith("chart.umd.js") for n in names)


def test_installed_copy_runs_from_any_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True)
    csv = write_calls(tmp_path / "calls.csv", [{"cost_usd": "0.500000"}, {"cost_usd": "0.250000"}])
    # -S keeps the editable install's path hook out; the deps come from this venv.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(target), sysconfig.get_paths()["purelib"],
                                                       sysconfig.get_paths()["platlib"]]))
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    proc = subprocess.run([sys.executable, "-S", "-c",
                           "import sys, finops.engine.cli as c; print(c.__file__, file=sys.stderr); "
                           "c.main()", "run-sql", "understanding", "--query", "summary",
                           "--csv", str(csv), "--format", "csv"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(target) in proc.stderr  # the installed copy ran, not the checkout
    header, row = proc.stdout.strip().splitlines()[:2]
    assert header.startswith("total_cost,total_calls")
    assert row.startswith("0.750000,2")
    # the simulator (its scenarios, and the reference tables it reads from calls.sql)
    out = tmp_path / "sim.csv"
    proc = subprocess.run([sys.executable, "-S", "-c", "import finops.engine.cli as c; c.main()",
                           "simulate", "--rows", "30", "--out", str(out), "--quiet"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_text().splitlines()) == 31
