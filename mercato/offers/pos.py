"""The point of sale: a till or POS app validates a code for a ticket, redeems it once
(retries with the same Idempotency-Key or the same ticket redeem once), voids it (its slot
is given back); redemptions made offline are imported in bulk afterwards and reconciled
against the caps, each row answered."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mercato.catalog.models import Variant
from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.offers import pricing, redemptions, rules
from mercato.offers.models import Offer, Redemption
from mercato.offers.schemas import (
    ImportReport,
    ImportRow,
    PosLine,
    PosRedeem,
    PosValidate,
    Validation,
)

MAX_IMPORT_ROWS = 50_000


def _no_convert(amount: int, source: str, target: str) -> int:
    if source.upper() != target.upper():
        raise ValidationFailed(
            "The offer is in another currency than the ticket.",
            [FieldError(("currency",), f"the offer's amounts are in {source}")],
        )
    return amount


SEND_LINES = "this code applies to specific products: send the ticket's lines"


@dataclass(frozen=True)
class Ticket:
    """A till's ticket as pricing reads it: its lines (one line of the whole subtotal when
    the till sent none) and what it comes to."""

    lines: tuple[pricing.Line, ...]
    subtotal: int
    itemized: bool


def ticket_of(
    session: Session, lines: Sequence[PosLine] | None, subtotal: int | None, required: bool
) -> Ticket:
    """The ticket's lines, each variant found by its id or SKU (one query each way); a
    line naming no variant, or a subtotal that is not the lines' sum, is refused naming
    it. Without lines, the subtotal read as one line (``required``: it must be given)."""
    if not lines:
        if subtotal is None:
            if required:
                raise ValidationFailed(
                    "The ticket's subtotal or its lines are needed.",
                    [FieldError(("subtotal",), "give the ticket's subtotal or its lines")],
                )
            subtotal = 0
        return Ticket((pricing.Line("", None, subtotal, 1),), subtotal, itemized=False)
    ids = {ln.variant_id for ln in lines if ln.variant_id}
    skus = {ln.sku.strip() for ln in lines if ln.sku}
    by_id = (
        {v.id: v for v in session.scalars(select(Variant).where(Variant.id.in_(ids)))}
        if ids
        else {}
    )
    by_sku = (
        {v.sku: v for v in session.scalars(select(Variant).where(Variant.sku.in_(skus)))}
        if skus
        else {}
    )
    made, errors = [], []
    for index, line in enumerate(lines):
        if line.variant_id:
            variant = by_id.get(line.variant_id)
            where, why = "variant_id", f"no variant {line.variant_id!r}"
        else:
            variant = by_sku.get((line.sku or "").strip())
            where, why = "sku", f"no variant with SKU {line.sku!r}"
        if variant is None:
            errors.append(FieldError(("lines", index, where), f"line {index}: {why}"))
            continue
        made.append(pricing.Line(variant.id, variant.product_id, line.unit_price, line.quantity))
    if errors:
        raise ValidationFailed(
            "Some of the ticket's lines name no variant: "
            + "; ".join(e.message for e in errors)
            + ".",
            errors,
        )
    total = sum(ln.gross for ln in made)
    if subtotal is not None and subtotal != total:
        raise ValidationFailed(
            "The subtotal is not what the lines come to.",
            [FieldError(("subtotal",), f"the lines come to {total}; leave it out or send that")],
        )
    return Ticket(tuple(made), total, itemized=True)


def needs_lines(offer: Offer) -> bool:
    """Is the offer priced on particular items (products, variants, collections, a
    bundle), so a ticket read as one sum cannot say what it takes off?"""
    return bool(offer.product_ids or offer.variant_ids or offer.collection_ids or offer.bundle)


def ticket_discount(
    session: Session,
    found: redemptions.Found,
    ticket: Ticket,
    currency: str,
    market: str | None,
    reference: str | None = None,
) -> pricing.Applied:
    """What the offer takes off the ticket, priced as the checkout prices a cart
    (``rules.priced``: scope, buy X get Y, bundles) on what the ticket's codes redeemed
    before it left (a till applies codes one after another: together they never take
    more than the ticket); an offer limited to products is refused for a ticket without
    lines, naming ``lines``."""
    if not ticket.itemized and needs_lines(found.offer):
        raise ValidationFailed(
            f"The code {found.code.code} applies to specific products: send the ticket's lines.",
            [FieldError(("lines",), SEND_LINES)],
        )
    lines = ticket.lines
    if taken := _taken_before(session, reference, found.code.code):
        parts = pricing.spread(min(taken, ticket.subtotal), [ln.gross for ln in lines])
        lines = tuple(replace(ln, taken=part) for ln, part in zip(lines, parts, strict=True))
    got = rules.priced(session, found.offer, lines, currency.upper(), _no_convert, market)
    shares = tuple(min(share, ln.left) for share, ln in zip(got.lines, lines, strict=True))
    return replace(got, lines=shares)


def _taken_before(session: Session, reference: str | None, code: str) -> int:
    """What the ticket's other codes already took off it."""
    if reference is None:
        return 0
    return int(  # PostgreSQL sums a BIGINT as a numeric
        session.scalar(
            select(func.coalesce(func.sum(Redemption.amount), 0)).where(
                Redemption.reference == reference,
                Redemption.code != code,
                Redemption.status.in_(redemptions.ACTIVE),
            )
        )
    )


def validate(session: Session, data: PosValidate, now: datetime | None = None) -> Validation:
    now = now or utcnow()
    currency = data.currency.upper()
    ticket = ticket_of(session, data.lines, data.subtotal, required=False)
    try:
        found = redemptions.usable(session, data.code, "pos", rules.Buyer(), now, data.market)
        applied = ticket_discount(session, found, ticket, currency, data.market)
    except ValidationFailed as exc:
        return Validation(valid=False, code=data.code, currency=currency, reason=exc.detail)
    return Validation(
        valid=applied.why_not is None,
        code=found.code.code,
        offer_id=found.offer.id,
        discount=applied.amount,
        free_shipping=applied.free_shipping,
        currency=currency,
        reason=applied.why_not,
        remaining=redemptions.remaining(found),
    )


def redeem(
    session: Session, data: PosRedeem, channel: str = "pos", now: datetime | None = None
) -> Redemption:
    now = now or utcnow()
    currency = data.currency.upper()
    ticket = ticket_of(session, data.lines, data.subtotal, required=True)
    try:
        found = redemptions.find(session, data.code)
    except Exception:
        raise redemptions.Refused(
            f"The code {data.code.strip()!r} is not valid.", extra={"reason": "unknown"}
        ) from None
    # What the ticket's other codes took is read under the ticket's lock: two codes sent
    # at once are priced one after the other.
    reference = f"{data.location_id}:{data.ticket}"
    redemptions.lock_reference(session, channel, reference)
    applied = ticket_discount(session, found, ticket, currency, data.market, reference)
    if applied.why_not is not None:
        raise redemptions.Refused(
            f"The code {found.code.code} {applied.why_not}.", extra={"reason": applied.why_not}
        )
    return redemptions.redeem(
        session,
        data.code,
        channel=channel,
        reference=reference,
        buyer=rules.Buyer(reference=data.customer_ref),
        amount=applied.amount,
        subtotal=ticket.subtotal,
        currency=currency,
        location_id=data.location_id,
        terminal_id=data.terminal_id,
        market=data.market,
        now=now,
    )


def void(session: Session, redemption_id: str, now: datetime | None = None) -> Redemption:
    redemption = redemptions.get(session, redemption_id, lock=True)
    if redemption.channel not in ("pos", "import"):
        raise Conflict("Only a till's redemption is voided here; refund the order instead.")
    return redemptions.void(session, redemption, now, why="voided at the till")


IMPORT_COLUMNS = ("code", "location_id", "terminal_id", "ticket", "subtotal", "currency")


def import_offline(session: Session, text: str, now: datetime | None = None) -> ImportReport:
    """Redemptions a till made offline (CSV with ``IMPORT_COLUMNS``, ``customer_ref`` and
    ``market`` optional), each redeemed in its own savepoint: a row over a cap, or for a
    code run out, is refused and reported with why; a row already imported is a
    duplicate. The rest stands."""
    now = now or utcnow()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:  # read whole (bounded) before anything is redeemed: a broken file changes nothing
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        read = list(itertools.islice(reader, MAX_IMPORT_ROWS + 1))
    except csv.Error as exc:
        raise ValidationFailed(
            "The file is not CSV.", [FieldError(("file",), f"row {reader.line_num}: {exc}")]
        ) from None
    if missing:
        raise ValidationFailed(
            "The file lacks some columns.", [FieldError(("file",), f"missing {', '.join(missing)}")]
        )
    if len(read) > MAX_IMPORT_ROWS:
        raise ValidationFailed(
            "The file is too long.", [FieldError(("file",), f"at most {MAX_IMPORT_ROWS} rows")]
        )
    rows: list[ImportRow] = []
    for number, row in enumerate(read, start=2):
        code = (row.get("code") or "").strip()
        try:
            data = PosRedeem(
                code=code,
                location_id=(row.get("location_id") or "").strip(),
                terminal_id=(row.get("terminal_id") or "").strip() or None,
                ticket=(row.get("ticket") or "").strip(),
                subtotal=int((row.get("subtotal") or "0").strip()),
                currency=(row.get("currency") or "").strip(),
                customer_ref=(row.get("customer_ref") or "").strip() or None,
                market=(row.get("market") or "").strip() or None,
            )
        except ValueError as exc:
            why = str(exc).splitlines()[1] if "\n" in str(exc) else str(exc)
            rows.append(ImportRow(row=number, code=code, status="refused", reason=why))
            continue
        reference = f"{data.location_id}:{data.ticket}"
        before = session.scalar(
            Redemption.__table__.select()
            .with_only_columns(Redemption.id)
            .where(
                Redemption.reference == reference,
                Redemption.code == rules.normalize(code),
                Redemption.channel.in_(("pos", "import")),
                Redemption.status != "voided",
            )
        )
        if before is not None:
            rows.append(ImportRow(row=number, code=code, status="duplicate", redemption_id=before))
            continue
        try:
            with session.begin_nested():
                made = redeem(session, data, channel="import", now=now)
        except (redemptions.Refused, ValidationFailed, Conflict) as exc:
            reason = exc.extra.get("reason") if isinstance(exc, redemptions.Refused) else exc.detail
            rows.append(ImportRow(row=number, code=code, status="refused", reason=reason))
            continue
        rows.append(ImportRow(row=number, code=code, status="redeemed", redemption_id=made.id))
    return ImportReport(
        redeemed=sum(r.status == "redeemed" for r in rows),
        duplicates=sum(r.status == "duplicate" for r in rows),
        refused=sum(r.status == "refused" for r in rows),
        rows=rows,
    )
