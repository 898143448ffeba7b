"""The common journeys file: read whole, or refused whole with the row and column named."""

from __future__ import annotations

import pytest

from mercato.analytics.journeys import Journey
from mercato.analytics.journeys_file import parse_journeys, read_journeys
from mercato.errors import ValidationFailed

HEADER = "path;total_conversions;total_conversion_value;total_null\n"


def _refusals(text: str) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        parse_journeys(text)
    return [e.message for e in caught.value.errors]


def test_reads_and_aggregates_identical_paths(tmp_path):
    file = tmp_path / "j.csv"
    file.write_text(
        "\ufeff" + HEADER + "facebook > email;2;30.5;10\nfacebook>email;1;4.5;0\ndirect;0;0;7\n"
    )
    assert read_journeys(file) == [
        Journey(("facebook", "email"), 3, 35.0, 10),
        Journey(("direct",), 0, 0.0, 7),
    ]


def test_columns_in_any_order_commas_and_optional_columns():
    assert parse_journeys("total_conversions,path\n4,a>b\n") == [Journey(("a", "b"), 4)]
    assert parse_journeys("path;total_conversions;days_before\na>b;1;3.5>0\n") == [
        Journey(("a", "b"), 1, 0.0, 0, (3.5, 0.0))
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a>b;-2;0;0", 'row 3, column "total_conversions": -2 is negative'),
        ("a>b;1.5;0;0", 'row 3, column "total_conversions": 1.5 is not a whole number'),
        ("a>b;x;0;0", "row 3, column \"total_conversions\": 'x' is not a number"),
        (";1;0;0", 'row 3, column "path": the path is empty'),
        ("a>>b;1;0;0", "row 3, column \"path\": touch 2 of 'a>>b' has no channel name"),
        ("a;1;-5;0", 'row 3, column "total_conversion_value": -5 is negative'),
        ("a;1;nan;0", 'row 3, column "total_conversion_value": nan is not a finite number'),
        ("a;1;0;-1", 'row 3, column "total_null": -1 is negative'),
        ("a;1;0", "row 3: 3 fields where the header has 4"),
    ],
)
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_returned(row, message):
    refusals = _refusals(HEADER + "ok>fine;1;1;1\n" + row + "\n")
    assert len(refusals) == 1
    assert refusals[0].startswith(message)


def test_every_bad_row_is_listed_at_once():
    refusals = _refusals(HEADER + "a;-1;0;0\n;1;0;0\nb;1;0;0\n")
    assert [r.split(":")[0] for r in refusals] == [
        'row 2, column "total_conversions"',
        'row 3, column "path"',
    ]


def test_a_missing_or_unknown_column_refuses_the_header():
    assert _refusals("path;total_null\na;1\n") == [
        'row 1, column "total_conversions": this column is missing from the header'
    ]
    assert _refusals("path;total_conversions;clicks\na;1;2\n")[0].startswith(
        'row 1, column "clicks": unknown column'
    )


def test_days_before_must_match_the_path():
    assert _refusals("path;total_conversions;days_before\na>b;1;3\n") == [
        'row 2, column "days_before": 1 times for a path of 2 touches'
    ]
    assert _refusals("path;total_conversions;days_before\na;1;-3\n") == [
        'row 2, column "days_before": -3 is not a number of days before the conversion'
    ]


def test_an_empty_file_or_one_without_rows_is_refused(tmp_path):
    assert _refusals("") == ["no header row"]
    assert _refusals(HEADER) == ["no rows"]
    binary = tmp_path / "j.csv"
    binary.write_bytes(b"\xff\xfe\x00x")
    with pytest.raises(ValidationFailed, match="not UTF-8"):
        read_journeys(binary)
