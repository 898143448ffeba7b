"""`mercato inventory ...` as a merchant uses it."""

from sqlalchemy import select, update
from typer.testing import CliRunner

from mercato.cli import app
from mercato.db import transaction, utcnow
from mercato.events.models import Event
from mercato.inventory import availability, reservations
from mercato.inventory.models import StockLevel
from mercato.inventory.schemas import ReservationLineInput
from tests.inventory.conftest import make_variants

runner = CliRunner()


def mercato(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_set_show_and_locations(engine, sessions):
    make_variants(sessions, "MUG-1")
    assert (
        mercato(
            "inventory", "location", "shop", "--name", "Shop", "--kind", "store", "--priority", "2"
        ).exit_code
        == 0
    )
    first = mercato("inventory", "set", "MUG-1", 7)
    assert first.exit_code == 0, first.output
    assert "MUG-1 at default: 7 on hand (+7), 0 reserved." in first.output
    assert "(unchanged)" in mercato("inventory", "set", "MUG-1", 7).output
    assert mercato("inventory", "set", "MUG-1", 3, "--location", "shop").exit_code == 0
    assert mercato("inventory", "channel", "tiktok", "--buffer", 2, "--cap", 5).exit_code == 0

    shown = mercato("inventory", "show", "MUG-1")
    assert shown.exit_code == 0, shown.output
    assert "10 on hand, 0 reserved, 10 available" in shown.output
    lines = [" ".join(line.replace("│", " ").split()) for line in shown.output.splitlines()]
    assert "default 7 0 7" in lines and "shop 3 0 3" in lines
    assert "tiktok 2 5 5" in lines and "(any other) 0 - 10" in lines


def test_mistakes_exit_non_zero_and_say_what(engine, sessions):
    make_variants(sessions, "MUG-1")
    unknown = mercato("inventory", "set", "NOPE", 1)
    assert unknown.exit_code == 1 and "No variant with SKU 'NOPE'" in unknown.output
    nowhere = mercato("inventory", "set", "MUG-1", 1, "--location", "moon")
    assert nowhere.exit_code == 1 and "No location 'moon'" in nowhere.output
    bad_kind = mercato("inventory", "location", "x", "--name", "X", "--kind", "boat")
    assert bad_kind.exit_code == 1 and "kind" in bad_kind.output


def test_set_below_held_units_is_refused(engine, sessions):
    make_variants(sessions, "MUG-1")
    mercato("inventory", "set", "MUG-1", 5)
    with transaction(sessions) as session:
        reservations.reserve(session, [ReservationLineInput(sku="MUG-1", quantity=4)])
    refused = mercato("inventory", "set", "MUG-1", 3)
    assert refused.exit_code == 1
    assert "MUG-1: 3 on hand but 4 held" in refused.output


def test_verify_and_sweep(engine, sessions):
    make_variants(sessions, "MUG-1")
    mercato("inventory", "set", "MUG-1", 5)
    with transaction(sessions) as session:
        reservations.reserve(
            session,
            [ReservationLineInput(sku="MUG-1", quantity=2)],
            ttl_seconds=1,
            now=utcnow().replace(year=2020),
        )
    ok = mercato("inventory", "verify")
    assert ok.exit_code == 0 and "The ledger balances" in ok.output
    swept = mercato("inventory", "sweep")
    assert swept.exit_code == 0 and "Expired 1 reservation(s)." in swept.output
    assert mercato("inventory", "verify").exit_code == 0

    # A change behind the ledger's back is found.
    with transaction(sessions) as session:
        session.execute(update(StockLevel).values(on_hand=StockLevel.on_hand + 1))
    broken = mercato("inventory", "verify")
    assert broken.exit_code == 1
    assert "MUG-1 at default" in broken.output and "on hand 6, ledger says 5" in broken.output


def test_set_on_an_untracked_sku_tracks_it_and_says_so(engine, sessions):
    ids = make_variants(sessions, "POSTER-1", tracked=False)
    with sessions() as session:
        assert (
            availability.available_for(session, "tiktok", ids["POSTER-1"]) == availability.UNLIMITED
        )

    counted = mercato("inventory", "set", "POSTER-1", 4)
    assert counted.exit_code == 0, counted.output
    assert "POSTER-1 was not tracked" in counted.output
    assert "tracked from now on" in counted.output
    with sessions() as session:
        assert availability.available_for(session, "tiktok", ids["POSTER-1"]) == 4
        told = list(session.scalars(select(Event).where(Event.type == "inventory.changed")))
    assert told[-1].key == ids["POSTER-1"] and told[-1].payload["published"] == 4

    again = mercato("inventory", "set", "POSTER-1", 4)
    assert "not tracked" not in again.output and "(unchanged)" in again.output


def test_a_count_equal_to_the_stock_still_tells_channels_once_tracked(engine, sessions):
    ids = make_variants(sessions, "POSTER-2", tracked=False)
    assert mercato("inventory", "set", "POSTER-2", 0).exit_code == 0  # moves no unit
    with sessions() as session:
        told = list(session.scalars(select(Event).where(Event.type == "inventory.changed")))
        assert availability.available_for(session, "tiktok", ids["POSTER-2"]) == 0
    assert [(e.key, e.payload["published"]) for e in told] == [(ids["POSTER-2"], 0)]
