"""`finops simulate --columns 1.1`: the optional columns, valid and realistic; 1.0 unchanged."""

from __future__ import annotations

import hashlib

from click.testing import CliRunner

from finops.engine.cli import main
from finops.engine.session import open_session


def simulate(tmp_path, name, *extra):
    out = tmp_path / name
    result = CliRunner().invoke(main, ["simulate", "--rows", "3000", "--seed", "5", "--out",
                                       str(out), "-q", *extra])
    assert result.exit_code == 0, result.output
    return out


def test_columns_11_are_valid_and_realistic(tmp_path):
    plain = simulate(tmp_path, "plain.csv")
    v11 = simulate(tmp_path, "v11.csv", "--columns", "1.1")
    plain_lines = plain.read_text().splitlines()
    v11_lines = v11.read_text().splitlines()
    assert plain_lines[0].count(",") == 18 and v11_lines[0].count(",") == 24
    # the 19 columns are the same bytes: 1.1 only appends
    assert [l.split(",")[:19] for l in v11_lines] [1:] == [l.split(",")[:19] for l in plain_lines][1:]
    session = open_session(v11)
    try:
        assert session.source.rows_rejected == 0 and session.source.rows == 3000
        hit, errors, reasoning, writes = session.con.execute(
            "SELECT sum(cache_read_input_tokens) / sum(input_tokens), "
            "avg(CASE WHEN status = 'error' THEN 1 ELSE 0 END), sum(reasoning_output_tokens), "
            "sum(cache_write_input_tokens) FROM calls").fetchone()
    finally:
        session.close()
    assert 0.05 < hit < 0.5 and 0.005 < errors < 0.06 and reasoning > 0 and writes > 0


def test_default_output_is_unchanged_and_19_columns(tmp_path):
    a = simulate(tmp_path, "a.csv")
    b = simulate(tmp_path, "b.csv", "--columns", "1.0")
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert a.read_text().splitlines()[0].count(",") == 18


def test_columns_11_refuses_to_append(tmp_path):
    out = simulate(tmp_path, "a.csv")
    result = CliRunner().invoke(main, ["simulate", "--append", "--days", "1", "--out", str(out),
                                       "--columns", "1.1"])
    assert result.exit_code != 0 and "new file" in result.output
