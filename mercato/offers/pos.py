"""The point of sale: a till or POS app validates a code for a ticket, redeems it once
(retries with the same Idempotency-Key or the same ticket redeem once), voids it (its slot
is given back); redemptions made offline are imported in bulk afterwards and reconciled
against the caps, each row answered."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from mercato.db import utcnow
from mercato.errors import Conflict, FieldError, ValidationFailed
from mercato.offers import pricing, redemptions, rules
from mercato.offers.models import Redemption
from mercato.offers.schemas import ImportReport, ImportRow, PosRedeem, PosValidate, Validation

MAX_IMPORT_ROWS = 50_000


def _no_convert(amount: int, source: str, target: str) -> int:
    if source.upper() != target.upper():
        raise ValidationFailed(
            "The offer is in another currency than the ticket.",
            [FieldError(("currency",), f"the offer's amounts are in {source}")],
        )
    return amount


def ticket_discount(found: redemptions.Found, subtotal: int, currency: str) -> pricing.Applied:
    """What the offer takes off a ticket, read as one line (the till knows its items;
    offers scoped to products, variants or collections are checked by the till against
    ``product_ids``, ``variant_ids``, ``collection_ids``). A bundle is priced on the
    items of a checkout: a ticket's one line never holds it."""
    line = pricing.Line("", None, subtotal, 1)
    terms = rules.terms_of(found.offer)
    if terms.product_ids or terms.variant_ids or terms.collection_ids:
        terms = pricing.Terms(
            **{
                **vars(terms),
                "product_ids": frozenset(),
                "variant_ids": frozenset(),
                "collection_ids": frozenset(),
            }
        )
    return pricing.apply(terms, [line], currency.upper(), _no_convert)


def validate(session: Session, data: PosValidate, now: datetime | None = None) -> Validation:
    now = now or utcnow()
    currency = data.currency.upper()
    try:
        found = redemptions.usable(session, data.code, "pos", rules.Buyer(), now, data.market)
        applied = ticket_discount(found, data.subtotal, currency)
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
    try:
        found = redemptions.find(session, data.code)
    except Exception:
        raise redemptions.Refused(
            f"The code {data.code.strip()!r} is not valid.", extra={"reason": "unknown"}
        ) from None
    applied = ticket_discount(found, data.subtotal, currency)
    if applied.why_not is not None:
        raise redemptions.Refused(
            f"The code {found.code.code} {applied.why_not}.", extra={"reason": applied.why_not}
        )
    return redemptions.redeem(
        session,
        data.code,
        channel=channel,
        reference=f"{data.location_id}:{data.ticket}",
        buyer=rules.Buyer(reference=data.customer_ref),
        amount=applied.amount,
        subtotal=data.subtotal,
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
