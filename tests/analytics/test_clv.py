"""Predicted lifetime value reproduces the published BG/NBD and Gamma-Gamma results on
Fader and Hardie's CDNOW sample (data/README.md):

- BG/NBD parameters r = 0.243, α = 4.414, a = 0.793, b = 2.426 (Fader, Hardie & Lee,
  "Counting Your Customers the Easy Way", Marketing Science 24(2), 2005, section 4), and
  the expected purchases in the next 39 weeks of a customer with x = 2, t_x = 30.43,
  T = 38.86: 1.226 ("Implementing the BG/NBD Model for Customer Base Analysis in Excel",
  2005);
- Gamma-Gamma parameters p = 6.25, q = 3.74, γ = 15.44 (Fader & Hardie, "The Gamma-Gamma
  Model of Monetary Value", 2013).
"""

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mercato.analytics import clv
from mercato.cli import app

DATA = Path(__file__).parent / "data"
runner = CliRunner()
CALIBRATION_END = date(1997, 9, 30)  # week 39
HOLDOUT_END = date(1998, 6, 30)  # week 78


def cdnow_purchases() -> list[clv.Purchase]:
    found = []
    for line in (DATA / "CDNOW_sample.txt").read_text().splitlines():
        _, customer, day, _, value = line.split()
        found.append(
            clv.Purchase(
                customer.lstrip("0"), datetime.strptime(day, "%Y%m%d").date(), float(value)
            )
        )
    return found


@pytest.fixture(scope="module")
def purchases():
    return cdnow_purchases()


@pytest.fixture(scope="module")
def calibration(purchases):
    return clv.summarise(purchases, CALIBRATION_END, unit_days=7)


@pytest.fixture(scope="module")
def fitted(calibration):
    return clv.fit(calibration)


def test_the_summary_of_each_customer_is_the_published_one(calibration):
    published = {
        row["ID"]: row for row in csv.DictReader((DATA / "cdnow_customers_summary.csv").open())
    }
    assert len(calibration) == len(published) == 2357
    for s in calibration:
        row = published[s.customer]
        assert s.frequency == int(row["x"]), s.customer
        assert round(s.recency, 2) == float(row["t_x"]), s.customer
        assert round(s.age, 2) == float(row["T"]), s.customer
        assert round(s.monetary + 1e-9, 2) == float(row["zbar"]), s.customer


def test_the_fit_gives_the_published_parameters(fitted):
    p = fitted.params
    assert (round(p["r"], 3), round(p["alpha"], 3)) == (0.243, 4.414)
    assert (round(p["a"], 3), round(p["b"], 3)) == (0.793, 2.426)
    assert p["p"] == pytest.approx(6.25, abs=0.01)
    assert p["q"] == pytest.approx(3.74, abs=0.01)
    assert p["v"] == pytest.approx(15.44, abs=0.01)
    assert (fitted.customers, fitted.repeat_customers) == (2357, 946)


def test_a_customers_expected_purchases_are_the_published_figure(fitted):
    one = clv.CustomerSummary("x", frequency=2, recency=30.43, age=38.86, monetary=0)
    assert round(clv.expected_purchases(fitted, [one], 39)[0], 3) == 1.226


def test_lifetime_value_is_purchases_times_spend_and_discounted(fitted, calibration):
    by_id = {s.customer: s for s in calibration}
    regular, lapsed = by_id["17"], by_id["2"]  # 10 repeat purchases to week 34; 1 in week 2
    undiscounted, discounted = (
        clv.predict(fitted, [regular, lapsed], 12, rate, unit_days=7) for rate in (0, 0.01)
    )
    r, lapsed_one = undiscounted
    assert r.p_alive > 0.75 > 0.3 > lapsed_one.p_alive
    assert r.clv > 10 * lapsed_one.clv
    # Without discounting, a year's value is a year's purchases times the spend.
    assert r.clv == pytest.approx(r.expected_purchases * r.expected_spend, rel=0.02)
    assert discounted[0].clv < r.clv


def test_the_holdout_sets_prediction_beside_what_customers_did(purchases):
    h = clv.holdout(purchases, CALIBRATION_END, HOLDOUT_END, unit_days=7)
    assert (h.customers, h.days) == (2357, 273)
    # Repeat purchase days in weeks 40 to 78, counted from the file.
    later = {(p.customer, p.day) for p in purchases if CALIBRATION_END < p.day <= HOLDOUT_END}
    assert h.actual == len(later)
    assert h.error == pytest.approx((h.predicted - h.actual) / h.actual)
    assert abs(h.error) < 0.15
    assert [g.purchases for g in h.groups] == ["0", "1", "2", "3", "4", "5", "6+"]
    assert sum(g.customers for g in h.groups) == 2357
    # Those who bought more before buy more after, in the data and in the prediction.
    assert [g.actual for g in h.groups] == sorted(g.actual for g in h.groups)
    assert [g.predicted for g in h.groups] == sorted(g.predicted for g in h.groups)


def test_too_few_customers_are_refused_before_fitting():
    few = [clv.CustomerSummary(str(i), 1, 1.0, 5.0, 10.0) for i in range(12)]
    with pytest.raises(clv.NotEnoughData, match="12 customers"):
        clv.fit(few)


def test_the_command_fits_a_purchases_file_in_days(tmp_path, purchases):
    """Counted in days rather than weeks, the same purchases give the same r, a and b,
    and α seven times larger (α is a scale of time)."""
    file = tmp_path / "purchases.csv"
    rows = ["customer_id,date,value"] + [f"{p.customer},{p.day},{p.value:.2f}" for p in purchases]
    file.write_text("\n".join(rows) + "\n")
    shown = runner.invoke(
        app,
        ["analytics", "clv", "--transactions", str(file), "--until", "1997-09-30"]
        + ["--format", "json", "--top", "3"],
    )
    assert shown.exit_code == 0, shown.output
    fit = json.loads(shown.output)
    p = fit["params"]
    assert (round(p["r"], 3), round(p["a"], 3), round(p["b"], 3)) == (0.243, 0.793, 2.426)
    assert p["alpha"] == pytest.approx(4.414 * 7, rel=1e-3)
    assert fit["customers"] == 2357 and len(fit["top_customers"]) == 3
    assert fit["holdout"]["days"] == 136  # half of the 272 days observed

    table = runner.invoke(app, ["analytics", "clv", "--transactions", str(file)])
    assert table.exit_code == 0, table.output
    assert "Holdout, 180 days after 1998-01-01" in table.output
    assert "Worth most over 12 months" in table.output


def test_a_bad_purchases_file_is_refused_naming_the_row(tmp_path):
    file = tmp_path / "purchases.csv"
    file.write_text("customer_id,date,value\na,2026-01-02,10\nb,02/01/2026,10\nc,2026-01-03,-1\n")
    shown = runner.invoke(app, ["analytics", "clv", "--transactions", str(file)])
    assert shown.exit_code == 1
    assert "row 3, column \"date\": '02/01/2026' is not a date" in shown.output
    assert 'row 4, column "value": an amount of 0 or more' in shown.output
