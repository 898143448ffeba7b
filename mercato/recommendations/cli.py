"""`mercato recommendations ...`: train a version now, and see how each model scores."""

from __future__ import annotations

import typer

from mercato import cli_support as cli

app = typer.Typer(help="Recommendations: train and evaluate.", no_args_is_help=True)
COLUMNS = ("precision_at_10", "recall_at_10", "ndcg_at_10", "coverage")


@app.command()
def train():
    """Train a new version from every order now, and print each model's scores."""
    from mercato.recommendations import training

    with cli.short_transactions() as sessions:
        version = training.train(sessions)
    cli.console.print(
        f"Version {version.id}: {version.orders_read} orders, {version.buyers_read} buyers,"
        f" {version.params['seconds']} s"
    )
    _print_scores(version.evaluation)


@app.command()
def versions():
    """Trained versions, newest first."""
    from sqlalchemy import select

    from mercato.recommendations.models import Version

    table = cli.table("id", "status", "finished", "orders", "buyers", "personal P@10", "own P@10")
    with cli.unit_of_work() as session:
        for v in session.scalars(select(Version).order_by(Version.started_at.desc())):
            scores = v.evaluation or {}
            table.add_row(
                v.id,
                v.status,
                f"{v.finished_at:%Y-%m-%d %H:%M}" if v.finished_at else "",
                str(v.orders_read),
                str(v.buyers_read),
                str(scores.get("personal", {}).get("precision_at_10", "")),
                str(scores.get("own_top_10", {}).get("precision_at_10", "")),
            )
    cli.console.print(table)


def _print_scores(evaluation: dict) -> None:
    if not evaluation:
        cli.console.print("Not evaluated: no buyer has two orders yet.")
        return
    table = cli.table("model", *COLUMNS, "buyers")
    for model, scores in evaluation.items():
        table.add_row(model, *(f"{scores[c]:.4f}" for c in COLUMNS), str(scores["buyers"]))
    cli.console.print(table)
