"""The dashboard's Fraud page: the review queue (held orders with their score and
reasons, approve or cancel each), the latest decisions, and the store's thresholds."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request

from mercato.admin.pages import Admin, _actor, _form_action, _page
from mercato.fraud import rules
from mercato.fraud import service as fraud
from mercato.fraud.schemas import FraudSettingsUpdate
from mercato.money import format_plain
from mercato.orders import screening
from mercato.web.requests import PostedForm
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/admin/fraud", include_in_schema=False)
PATH = "/admin/fraud"
Csrf = Annotated[str, Form()]
Note = Annotated[str, Form()]


@router.get("")
def fraud_page(request: Request, session: ReadSession, admin: Admin):
    return _page(
        request,
        "fraud.html",
        admin,
        held=fraud.held(session),
        recent=fraud.recent(session, 20),
        settings=fraud.get_settings(session),
        velocity=rules.VELOCITY,
        rule_names=list(rules.RULES),
        amount=format_plain,
        here=PATH,
    )


@router.post("/{assessment_id}/approve")
def approve(assessment_id: str, session: WriteSession, admin: Admin, csrf: Csrf, note: Note = ""):
    def act() -> str:
        done = screening.approve(session, assessment_id, _actor(admin), note.strip() or None)
        return f"Order #{done.order_number} approved: released to be fulfilled."

    return _form_action(session, admin, csrf, "fraud:write", PATH, act)


@router.post("/{assessment_id}/cancel")
def cancel(
    assessment_id: str, sessions: SessionFactories, admin: Admin, csrf: Csrf, note: Note = ""
):
    """The refund goes through the payment provider: no transaction of the request's own
    is held while it answers (the read session only stands for it in the helper)."""

    def act() -> str:
        done = screening.cancel(sessions.write, assessment_id, _actor(admin), note.strip() or None)
        return f"Order #{done.order_number} cancelled and refunded."

    with sessions.read() as session:
        return _form_action(session, admin, csrf, "fraud:write", PATH, act)


def _number(form, name: str) -> int | None:
    value = str(form.get(name) or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: write a whole number") from None


def _amounts(form, current) -> dict[str, int | None]:
    """``JPY=30000, IDR=5000000`` as typed: the currencies left out lose their own amount."""
    found: dict[str, int | None] = {}
    for pair in str(form.get("first_order_amounts") or "").replace(";", ",").split(","):
        if not pair.strip():
            continue
        code, _, number = pair.partition("=")
        try:
            found[code.strip().upper()] = int(number.strip())
        except ValueError:
            raise ValueError(
                f"first_order_amounts: write CURRENCY=AMOUNT in minor units, not {pair.strip()!r}"
            ) from None
    return {**dict.fromkeys(current.first_order_amounts or {}), **found}


@router.post("/settings")
def save_settings(form: PostedForm, session: WriteSession, admin: Admin):
    def act() -> str:
        cancel_at = _number(form, "cancel_at")
        data = FraudSettingsUpdate(
            enabled=form.get("enabled") == "on",
            hold_at=_number(form, "hold_at"),
            cancel_at=cancel_at,
            cancel_never=cancel_at is None,
            window_minutes=_number(form, "window_minutes"),
            first_order_amount=_number(form, "first_order_amount"),
            first_order_amounts=_amounts(form, fraud.get_settings(session)),
            limits={r: n for r in rules.VELOCITY if (n := _number(form, f"limit:{r}")) is not None},
            weights={r: n for r in rules.RULES if (n := _number(form, f"weight:{r}")) is not None},
        )
        fraud.update_settings(session, data, _actor(admin))
        return "Fraud settings saved."

    return _form_action(session, admin, str(form.get("csrf") or ""), "fraud:write", PATH, act)
