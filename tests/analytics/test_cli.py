"""`mercato analytics attribution` over a journeys file, in csv and json."""

from __future__ import annotations

import csv
import io
import json

from typer.testing import CliRunner

from mercato.cli import app

runner = CliRunner()

# Serhii Puzyrov's two-channel example (see test_worked_examples.py), with values.
FILE = """path;total_conversions;total_conversion_value;total_null
google ads;2;200;0
mailing;1;50;0
google ads>mailing;1;100;0
google ads;0;0;1
"""


def _run(tmp_path, *args, text=FILE):
    file = tmp_path / "journeys.csv"
    file.write_text(text)
    return runner.invoke(app, ["analytics", "attribution", "--journeys", str(file), *args])


def test_markov_as_json(tmp_path):
    result = _run(tmp_path, "--model", "markov", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["models"]["markov"]
    assert out["channels"] == [
        {"channel": "google ads", "conversions": 2.4, "value": 210.0},
        {"channel": "mailing", "conversions": 1.6, "value": 140.0},
    ]
    assert out["details"]["removal_effects"] == {"google ads": 0.75, "mailing": 0.5}


def test_all_models_side_by_side_as_csv_says_what_was_left_out(tmp_path):
    result = _run(tmp_path, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["channel"] for r in rows] == ["google ads", "mailing"]
    ads = rows[0]
    assert ads["first_conversions"] == "3.0"
    assert ads["last-non-direct_conversions"] == "2.0"
    assert ads["linear_conversions"] == "2.5"
    assert ads["markov_conversions"] == "2.4"
    assert ads["shapley_value"] == "250.0"
    assert "time-decay_conversions" not in ads
    assert "time-decay left out" in result.stderr


def test_time_decay_is_refused_for_a_file_without_times(tmp_path):
    result = _run(tmp_path, "--model", "time-decay")
    assert result.exit_code == 1
    assert "no touch times" in result.stderr
    timed = "path;total_conversions;days_before\nsocial>search;1;7>0\n"
    result = _run(tmp_path, "--model", "time-decay", "--format", "csv", text=timed)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "search,0.666667,0.0",
        "social,0.333333,0.0",
    ]


def test_a_bad_file_names_row_and_column_and_exits_1(tmp_path):
    result = _run(tmp_path, text=FILE + "mailing;-1;0;0\n")
    assert result.exit_code == 1
    assert 'row 6, column "total_conversions": -1 is negative' in result.stderr
    assert result.stdout == ""


def test_unknown_model_and_drill_down(tmp_path):
    result = _run(tmp_path, "--model", "nope")
    assert result.exit_code == 1
    assert "Unknown model" in result.stderr
    result = _run(tmp_path, "--model", "linear", "--drill-down", "mailing", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "linear": [
            {"path": "mailing", "conversions": 1.0, "value": 50.0},
            {"path": "google ads>mailing", "conversions": 0.5, "value": 50.0},
        ]
    }


def test_direct_names_half_life_and_lookback(tmp_path):
    timed = (
        "path;total_conversions;total_conversion_value;days_before\n"
        "social>Brand>search;1;30;20>3>0\n"
    )
    result = _run(tmp_path, "--model", "last-non-direct", "--direct", "search", "--direct",
                  "brand", "--format", "csv", text=timed)  # fmt: skip
    assert result.stdout.splitlines()[1:] == ["social,1.0,30.0"]
    result = _run(tmp_path, "--model", "first", "--lookback", "10", "--format", "csv", text=timed)
    assert result.stdout.splitlines()[1:] == ["Brand,1.0,30.0"]
    result = _run(tmp_path, "--model", "time-decay", "--half-life", "3", "--format", "json",
                  text=timed)  # fmt: skip
    out = json.loads(result.stdout)["models"]["time-decay"]
    assert out["details"] == {"half_life_days": 3.0}
    weights = {"social": 2 ** (-20 / 3), "Brand": 2 ** (-1), "search": 1.0}
    total = sum(weights.values())
    assert {c["channel"]: c["conversions"] for c in out["channels"]} == {
        c: round(w / total, 6) for c, w in weights.items()
    }
