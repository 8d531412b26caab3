"""`finops build --engine spark` writes the same site as the DuckDB build (issue 15).

Uses the suite's one Spark session (tests/conftest.py). The pages carry
their run time, so they are compared by their files and their JSON
downloads (every query of every analyzer, and the source block). The build
is narrowed (--from, --where) and has a previous period, so the filters
and the headlines' changes are compared too; test_spark_engine.py compares
every analyzer over the whole file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from finops.engine.cli import main

from test_spark_engine import FIXTURE, same

pytest.importorskip("pyspark")
pytest.importorskip("sqlglot")
pytestmark = pytest.mark.slow


# The fixture covers 2025-10-01..20: ten days with the ten before them.
FILTERS = ["--from", "2025-10-11", "--where", "environment=production"]


def test_build_on_spark_writes_the_same_site(spark, tmp_path):
    csv_path = shutil.copy(FIXTURE, tmp_path / FIXTURE.name)
    runner = CliRunner()
    duck = runner.invoke(main, ["build", "--csv", str(csv_path), "--out", str(tmp_path / "duck"), "-q",
                                "--no-statements", *FILTERS])
    assert duck.exit_code == 0, duck.output
    on_spark = runner.invoke(main, ["build", "--csv", str(csv_path), "--out", str(tmp_path / "spark"),
                                    "-q", "--no-statements", "--engine", "spark",
                                    "--spark-master", "local[2]", *FILTERS])
    assert on_spark.exit_code == 0, on_spark.output

    def files(out: Path) -> set[str]:
        return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert files(tmp_path / "spark") == files(tmp_path / "duck")
    downloads = sorted((tmp_path / "duck").glob("*.json"))
    assert len(downloads) > 8
    for path in downloads:
        if path.name == "manifest.json":
            continue
        expected = json.loads(path.read_text(encoding="utf-8"))
        got = json.loads((tmp_path / "spark" / path.name).read_text(encoding="utf-8"))
        assert same(got, expected), path.name
    manifest = json.loads((tmp_path / "spark" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"
    assert [r["id"] for r in manifest["reports"]] == [
        r["id"] for r in json.loads((tmp_path / "duck" / "manifest.json").read_text())["reports"]]
