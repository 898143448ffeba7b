"""Attribution: the models by name, run over journeys from the ledger or from a file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mercato.analytics import rules
from mercato.analytics.journeys import Journey, NeedsTouchTimes, within_lookback
from mercato.analytics.journeys_file import read_journeys
from mercato.analytics.markov import markov
from mercato.analytics.result import Attribution
from mercato.analytics.shapley import shapley
from mercato.errors import FieldError, ValidationFailed

MODELS = (
    "first",
    "last-non-direct",
    "linear",
    "linear-unique",
    "time-decay",
    "position",
    "markov",
    "shapley",
)


@dataclass(frozen=True)
class Options:
    half_life_days: float = rules.HALF_LIFE_DAYS
    direct: tuple[str, ...] = rules.DIRECT
    # Touches older than this many days before the conversion are left out (needs times).
    lookback_days: float | None = None


def attribute(
    journeys: Sequence[Journey], model: str, options: Options | None = None
) -> Attribution:
    options = options or Options()
    if options.lookback_days is not None:
        journeys = within_lookback(journeys, options.lookback_days)
    match model:
        case "first":
            return rules.attribute(model, journeys, rules.first_touch)
        case "last-non-direct":
            return rules.attribute(
                model, journeys, rules.last_non_direct(options.direct), direct=options.direct
            )
        case "linear":
            return rules.attribute(model, journeys, rules.linear)
        case "linear-unique":
            return rules.attribute(model, journeys, rules.linear_unique)
        case "time-decay":
            return rules.attribute(
                model,
                journeys,
                rules.time_decay(options.half_life_days),
                half_life_days=options.half_life_days,
            )
        case "position":
            return rules.attribute(model, journeys, rules.position_based)
        case "markov":
            return markov(journeys)
        case "shapley":
            return shapley(journeys)
    raise ValidationFailed(
        f"Unknown model {model!r}.",
        [FieldError(("model",), f"one of: {', '.join(MODELS)}, or all")],
    )


@dataclass
class Report:
    attributions: list[Attribution]
    # What was left out and why (e.g. time decay for a file without touch times).
    notes: list[str]


def attribute_file(file: Path, model: str, options: Options | None = None) -> Report:
    """One model, or ``all`` side by side, over a journeys file. A model the file cannot
    feed is refused by name (or, within ``all``, left out with a note): never guessed."""
    return attribute_all(read_journeys(file), model, options, str(file))


def attribute_all(
    journeys: Sequence[Journey], model: str, options: Options | None, source: str
) -> Report:
    """One model, or ``all`` side by side, over journeys from ``source`` (a file, the
    ledger)."""
    notes = []
    models: Iterable[str] = [model]
    if model == "all":
        models = MODELS
        if not all(j.timed for j in journeys):
            models = [m for m in MODELS if m != "time-decay"]
            notes.append("time-decay left out: the file has no days_before column")
    out = []
    for name in models:
        try:
            out.append(attribute(journeys, name, options))
        except NeedsTouchTimes as exc:
            raise ValidationFailed(
                f"{name}: {source} has no touch times.", [FieldError(("model",), str(exc))]
            ) from None
        except ValueError as exc:
            raise ValidationFailed(str(exc), [FieldError(("model",), str(exc))]) from None
    return Report(out, notes)
