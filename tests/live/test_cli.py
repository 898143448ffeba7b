"""`mercato live ...` as a merchant runs a drop from the terminal."""

import re

from typer.testing import CliRunner

from mercato.cli import app
from mercato.db import transaction
from mercato.inventory import counts
from mercato.inventory.schemas import AdjustmentCreate
from tests.inventory.conftest import make_variants

runner = CliRunner()


def mercato(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def _rows(output: str) -> list[str]:
    return [" ".join(line.replace("│", " ").split()) for line in output.splitlines()]


def test_schedule_fence_pin_move_and_end(engine, sessions):
    make_variants(sessions, "SNEAKER-42", handle="sneaker")
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="SNEAKER-42", quantity=100))
    made = mercato(
        "live",
        "create",
        "Friday drop",
        "--product",
        "SNEAKER-42",
        "--platform",
        "chn_tiktok=https://www.tiktok.com/@shop/live",
        "--platform",
        "storefront",
    )
    assert made.exit_code == 0, made.output
    event_id = re.search(r"lev_\w+", made.output).group(0)
    fenced = mercato("live", "pools", event_id, "SNEAKER-42", "chn_tiktok=40", "storefront=50")
    assert fenced.exit_code == 0, fenced.output
    assert "SNEAKER-42 100 10 chn_tiktok 40 0 0" in _rows(fenced.output)
    refused = runner.invoke(app, ["live", "pools", event_id, "SNEAKER-42", "chn_tiktok=51"])
    assert refused.exit_code == 1 and "unfenced" in refused.output
    assert mercato("live", "start", event_id).exit_code == 0
    pinned = mercato("live", "pin", event_id, "SNEAKER-42", "--price", 8900)
    assert "live" in pinned.output and "8900" in pinned.output
    moved = mercato(
        "live", "move", event_id, "SNEAKER-42", 5, "--from", "storefront", "--to", "chn_tiktok"
    )
    assert "SNEAKER-42 100 10 chn_tiktok 45 0 0" in _rows(moved.output)
    assert "ended" in mercato("live", "end", event_id).output
    assert "SNEAKER-42 100 100 -" in _rows(mercato("live", "stock", event_id).output)
