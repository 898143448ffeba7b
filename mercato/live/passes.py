"""Admission passes: what the drop's gate hands a buyer it let in, so the checkout can
follow as its own request. ``POST /live-events/{id}/admission`` answers "you're in"
(with a pass) or "sold out" as fast as the gate alone; ``POST .../buy`` with the pass
then starts the checkout without queueing again.

A pass names the event, the variant, the units, the gate's ticket and when it lapses,
signed with a key derived from the secret key and bound to the buyer (the visitor cookie
or client address it was given to, never written in it). It is good once: the gate
marks its ticket used (``use``) when the checkout starts and gives it back when the
checkout is refused. One never used lapses, and its units go back to the gate
(``tasks.lapse_admissions``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mercato import crypto
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.live.gate import Answer
from mercato.live.service import Offer

CONTEXT = b"live-admission-pass"
# How long a buyer let in has to start the checkout (the checkout then holds the units).
SECONDS = 300
FIELD = ("admission_pass",)


class PassUsed(Conflict):
    slug = "pass-used"
    title = "Admission pass already used"


class PassLapsed(Conflict):
    slug = "pass-lapsed"
    title = "Admission pass lapsed"


@dataclass(frozen=True)
class Pass:
    event_id: str
    variant_id: str
    quantity: int
    ticket: str  # the gate's; empty when the product has no gate (nothing to use up)
    expires: int  # seconds since the epoch

    @property
    def body(self) -> str:
        return f"{self.event_id}.{self.variant_id}.{self.quantity}.{self.ticket}.{self.expires}"

    def token(self, buyer: str) -> str:
        return f"{self.body}.{crypto.sign(CONTEXT, f'{self.body}.{buyer}')}"


def issue(on_sale: Offer, answer: Answer | None, quantity: int, now: float | None = None) -> Pass:
    """The pass for a buyer the gate let in (``answer`` None: no gate, everyone is in)."""
    expires = int((time.time() if now is None else now) + SECONDS)
    ticket = answer.ticket if answer is not None and answer.ticket else ""
    return Pass(on_sale.event_id, on_sale.variant_id, quantity, ticket, expires)


def _invalid(why: str) -> ValidationFailed:
    return ValidationFailed(
        "The admission pass is not valid.", errors=[FieldError(FIELD, why, "invalid_pass")]
    )


def read(token: str, event_id: str, buyer: str, now: float | None = None) -> Pass:
    """The pass ``token`` stands for, if this server signed it for this buyer and event
    and it has not lapsed."""
    parts = token.split(".")
    if len(parts) != 6 or not parts[2].isdigit() or not parts[4].isdigit():
        raise _invalid("It is not a pass this shop gave.")
    body, signature = ".".join(parts[:5]), parts[5]
    if not crypto.signed(CONTEXT, f"{body}.{buyer}", signature):
        raise _invalid("It was not given to this buyer, or it was changed.")
    found = Pass(parts[0], parts[1], int(parts[2]), parts[3], int(parts[4]))
    if found.event_id != event_id:
        raise _invalid("It is a pass for another live event.")
    if found.expires < (time.time() if now is None else now):
        raise PassLapsed(
            f"This pass lapsed {SECONDS // 60} minutes after it was given; queue again.",
            extra={"expired_at": found.expires},
        )
    return found


def use(the_gate, found: Pass) -> None:
    """Mark the pass used (once: a second use is refused)."""
    if found.ticket and not the_gate.use(found.event_id, found.ticket):
        raise PassUsed("This admission pass is used up: it started a checkout, or lapsed.")


def give_back(the_gate, found: Pass) -> None:
    """The checkout it started was refused: the pass is good again."""
    if found.ticket:
        the_gate.give_back(found.event_id, found.ticket)


def check(found: Pass, on_sale: Offer, quantity: int | None) -> None:
    """The pass is for what is on sale now, and for as many units as asked."""
    if found.variant_id != on_sale.variant_id:
        raise Conflict("The product this pass was for is no longer on sale in this live.")
    if quantity is not None and quantity != found.quantity:
        raise ValidationFailed(
            "The pass is for another quantity.",
            errors=[FieldError(("quantity",), f"This pass is for {found.quantity}.")],
        )
