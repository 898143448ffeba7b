"""`mercato analytics import-touches|import-spend`: whole files or nothing, every bad row
named by row and column, a day imported again replacing its figures."""

from __future__ import annotations

import csv
from datetime import UTC, datetime

from sqlalchemy import select
from typer.testing import CliRunner

from mercato.analytics.models import AdSpend
from mercato.cli import app
from mercato.config import get_settings
from tests.analytics.ledger_helpers import touches

runner = CliRunner()

TOUCHES = """date,channel,post,campaign,impressions,clicks,reach,interactions
2026-11-02,instagram,post-7,spring,1000,40,800,56
2026-11-02,tiktok,video-9,,5000,,3000,
"""


def _import(tmp_path, command: str, text: str):
    file = tmp_path / "figures.csv"
    file.write_text(text)
    return runner.invoke(app, ["analytics", command, str(file)])


def test_daily_figures_become_aggregate_touches_at_the_store_s_midnight(
    tmp_path, sessions, monkeypatch
):
    monkeypatch.setenv("MERCATO_TIMEZONE", "Europe/Paris")
    get_settings.cache_clear()
    result = _import(tmp_path, "import-touches", TOUCHES)
    assert result.exit_code == 0, result.output
    assert "2 rows imported: 6 figures" in result.output
    instagram = {t.kind: t for t in touches(sessions, channel="instagram")}
    assert {k: t.count for k, t in instagram.items()} == {
        "impression": 1000,
        "click": 40,
        "reach": 800,
        "interaction": 56,
    }
    # Midnight in Paris is 23:00 UTC the day before.
    assert instagram["reach"].at == datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
    assert instagram["reach"].post == "post-7" and instagram["reach"].campaign == "spring"
    # The platform revised its figures: importing the day again replaces them.
    revised = TOUCHES.replace("1000,40,800,56", "1200,41,900,60")
    assert _import(tmp_path, "import-touches", revised).exit_code == 0
    assert sorted(t.count for t in touches(sessions, channel="instagram")) == [41, 60, 900, 1200]


def test_a_bad_touches_file_names_each_row_and_column_and_writes_nothing(tmp_path, sessions):
    bad = TOUCHES + "2026-13-01,instagram,post-8,,10,1,5,1\n2026-11-03,instagram,,,-4,,,\n"
    result = _import(tmp_path, "import-touches", bad)
    assert result.exit_code == 1
    assert "row 4, column \"date\": '2026-13-01' is not a date" in result.output
    assert 'row 5, column "post": empty' in result.output
    assert "row 5, column \"impressions\": '-4' is not a whole number" in result.output
    assert touches(sessions) == []
    result = _import(tmp_path, "import-touches", "date,channel,post,likes\n")
    assert result.exit_code == 1
    assert 'row 1, column "likes": unknown column' in result.output


SPEND = """date,channel,campaign,spend,currency
2026-11-02,instagram,spring,12050,EUR
2026-11-03,instagram,spring,9000,EUR
"""


def _spend(sessions) -> list[tuple]:
    with sessions() as session:
        rows = session.scalars(select(AdSpend).order_by(AdSpend.day))
        return [(r.day.isoformat(), r.campaign, r.amount, r.currency) for r in rows]


def test_spend_is_imported_in_minor_units_and_a_bad_file_writes_nothing(tmp_path, sessions):
    assert _import(tmp_path, "import-spend", SPEND).exit_code == 0
    assert _spend(sessions) == [
        ("2026-11-02", "spring", 12050, "EUR"),
        ("2026-11-03", "spring", 9000, "EUR"),
    ]
    again = SPEND.replace("9000", "9500") + "2026-11-04,instagram,spring,120.50,EUR\n"
    again += "2026-11-05,instagram,spring,100,EURO\n"
    result = _import(tmp_path, "import-spend", again)
    assert result.exit_code == 1
    assert "row 4, column \"spend\": '120.50' is not a whole number" in result.output
    assert "row 5, column \"currency\": 'EURO' is not an ISO 4217 currency code" in result.output
    assert _spend(sessions)[1][2] == 9000  # nothing written, not even the good rows
    assert _import(tmp_path, "import-spend", SPEND.replace("9000", "9500")).exit_code == 0
    assert _spend(sessions)[1][2] == 9500


def test_the_ledger_is_exported_as_csv_for_a_period(tmp_path, sessions):
    assert _import(tmp_path, "import-touches", TOUCHES).exit_code == 0
    out = tmp_path / "touches.csv"
    args = ["analytics", "export-touches", str(out), "--from", "2026-11-02", "--to", "2026-11-02"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == 6 and "6 touches written" in result.output
    reach = next(r for r in rows if r["kind"] == "reach" and r["channel"] == "instagram")
    assert (reach["count"], reach["post"], reach["at"]) == (
        "800",
        "post-7",
        "2026-11-02T00:00:00+00:00",
    )
    result = runner.invoke(app, [*args[:3], "--from", "2026-11-03", "--to", "2026-11-03"])
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 0
