"""`mercato fraud ...`: the review queue and the store's thresholds and weights. Deciding
a held order changes the order: `mercato orders approve-review` / `cancel-review`."""

from __future__ import annotations

from typing import Annotated

import typer

from mercato.cli_support import console, parse, table, unit_of_work
from mercato.errors import FieldError, ValidationFailed
from mercato.fraud import service
from mercato.fraud.schemas import FraudSettingsUpdate
from mercato.money import format_plain

app = typer.Typer(help="Fraud screening: review queue, thresholds, weights.", no_args_is_help=True)


@app.command("reviews")
def reviews():
    """Orders held for review, oldest first, with their score and reasons."""
    with unit_of_work() as session:
        rows = [
            (
                a.id,
                f"#{a.order_number}",
                a.channel,
                f"{format_plain(a.amount, a.currency)} {a.currency}",
                str(a.score),
                "; ".join(r["reason"] for r in a.reasons),
            )
            for a in service.held(session)
        ]
    shown = table("Assessment", "Order", "Channel", "Total", "Score", "Reasons")
    for row in rows:
        shown.add_row(*row)
    console.print(shown)


@app.command("show")
def show(assessment_id: str):
    """One assessment: its reasons and the log of its decisions."""
    with unit_of_work() as session:
        a = service.get(session, assessment_id)
        console.print(
            f"Order #{a.order_number} ({a.channel}): score {a.score}, "
            f"decision {a.decision}, {a.status}"
        )
        for r in a.reasons:
            console.print(f"  +{r['points']:<4} {r['reason']}")
        for d in service.log_of(session, a.id):
            console.print(f"  {d.at:%Y-%m-%d %H:%M} {d.actor}: {d.decision} — {d.why}")


@app.command("settings")
def settings():
    """The thresholds, velocity limits, window and rule weights in force."""
    with unit_of_work() as session:
        s = service.get_settings(session)
        console.print(f"hold at: {s.hold_at}")
        console.print(f"cancel at: {s.cancel_at if s.cancel_at is not None else 'never'}")
        console.print(f"window: {s.window_minutes} minutes")
        console.print(f"first order above: {s.first_order_amount} (minor units)")
        for code, amount in sorted((s.first_order_amounts or {}).items()):
            console.print(f"first order above in {code}: {amount} (minor units)")
        for rule, limit in sorted(s.limits.items()):
            console.print(f"limit {rule}: {limit}")
        for rule, points in sorted(s.weights.items()):
            console.print(f"weight {rule}: {points}")


def _pairs(values: list[str] | None, option: str) -> dict[str, int] | None:
    if not values:
        return None
    found, errors = {}, []
    for value in values:
        rule, _, number = value.partition("=")
        try:
            found[rule.strip()] = int(number)
        except ValueError:
            errors.append(FieldError((option, rule.strip() or value), "write RULE=NUMBER"))
    if errors:
        raise ValidationFailed("Some values are not numbers.", errors)
    return found


def _amounts(values: list[str] | None) -> dict[str, int | None] | None:
    """CURRENCY=AMOUNT pairs; an empty amount removes the currency's own."""
    if not values:
        return None
    removed = {c.strip().upper(): None for c, _, n in (v.partition("=") for v in values) if not n}
    return {
        **(_pairs([v for v in values if v.partition("=")[2]], "first_order_amounts") or {}),
        **removed,
    }


@app.command("set")
def set_(
    hold_at: Annotated[int | None, typer.Option(help="hold for review at this score")] = None,
    cancel_at: Annotated[int | None, typer.Option(help="cancel (refund) at this score")] = None,
    cancel_never: Annotated[bool, typer.Option(help="the rules never cancel")] = False,
    window_minutes: Annotated[int | None, typer.Option(help="velocity window")] = None,
    first_order_amount: Annotated[
        int | None, typer.Option(help="a first order above this (minor units) counts")
    ] = None,
    first_order_amount_in: Annotated[
        list[str] | None,
        typer.Option(help="CURRENCY=AMOUNT (minor units), e.g. JPY=30000; JPY= removes it"),
    ] = None,
    weight: Annotated[
        list[str] | None, typer.Option(help="RULE=POINTS, e.g. velocity_device=40")
    ] = None,
    limit: Annotated[
        list[str] | None, typer.Option(help="RULE=ORDERS allowed in the window")
    ] = None,
):
    """Change thresholds, limits or weights; what is not given stays."""
    with unit_of_work() as session:
        data = parse(
            FraudSettingsUpdate,
            hold_at=hold_at,
            cancel_at=cancel_at,
            cancel_never=cancel_never,
            window_minutes=window_minutes,
            first_order_amount=first_order_amount,
            first_order_amounts=_amounts(first_order_amount_in),
            weights=_pairs(weight, "weights"),
            limits=_pairs(limit, "limits"),
        )
        s = service.update_settings(session, data, actor="cli")
        console.print(
            f"Saved: hold at {s.hold_at}, cancel at "
            f"{s.cancel_at if s.cancel_at is not None else 'never'}."
        )
