"""Identity resolution: which profile a buyer, a sender or a checkout belongs to.

Every intake (a platform order, an inbound message, a storefront checkout) brings what it
knows of the person as claims: an email, a phone number, their id on the platform, the
shop's device id, their name and postal address. Each claim is normalised and looked up.
The rules are deterministic:

- a claim equal to an identity on record links to that identity's profile when either of
  the two is verified (the platform said it, or a sign-in link proved it); a signed-in or
  recognised buyer links to their own profile;
- when one intake links to two profiles, they are merged (the older one kept), the merge
  recorded with its rule, its evidence and what undoes it (``merges.unmerge``);
- a claim equal to an unverified identity of someone else (both typed into forms), or the
  same name at the same postal address, is only a suggested merge for the merchant;
- whatever is new is added to the profile the intake linked to, or to a new one.

Identities are unique on (kind, scope, keyed hash of the value; the value itself is
encrypted at rest): two intakes of one new person at once
insert the same row, one wins, and the other links to it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import phonenumbers
from sqlalchemy import and_, bindparam, delete, insert, or_, select
from sqlalchemy.orm import Session

from mercato.crypto import search_terms
from mercato.customers import merges
from mercato.customers.models import Customer, Identity, MergeSuggestion, value_key
from mercato.db import among, insert_rows, new_id, utcnow
from mercato.inserts import insert_or_ignore, insert_or_ignore_many

# A merge's rule, by the kind of identity that matched.
_RULES = {"email": "verified_email", "phone": "verified_phone", "platform": "verified_platform_id"}
_WEAK_RULES = {"email": "unverified_email", "phone": "unverified_phone", "device": "same_device"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Attempts when a concurrent intake inserted one of our identities first.
_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    kind: str  # email | phone | platform | device | postal
    value: str
    scope: str = ""
    verified: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.scope, self.value)


@dataclass
class Observation:
    """What one intake knows of a person. ``claims`` in the order of trust: the first
    strong match names the row the intake is linked to."""

    source: str  # "order:<id>", "conversation:<id>", "checkout:<id>"
    claims: list[Claim] = field(default_factory=list)
    # A buyer signed in or recognised by a signed cookie: their own row.
    known_customer_id: str | None = None
    name: str | None = None
    language: str | None = None


# ---------------------------------------------------------------- normalising


def normal_email(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    return text if _EMAIL.match(text) and len(text) <= 320 else None


def normal_phone(value: str | None, region: str | None = None) -> str | None:
    """E.164 (``+14155550123``), or None when it is not a valid number (a platform's
    masked ``(+1)512*****67`` is not)."""
    text = (value or "").strip()
    if not text or "*" in text:
        return None
    if text[0].isdigit() and not region:
        text = "+" + text  # a WhatsApp id: the number's digits with its country code
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _fold(text: str | None) -> str:
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def postal_key(name: str | None, address: dict[str, Any] | None) -> str | None:
    """Name and postal address as one comparable value: case, accents, punctuation and
    spacing ignored; None without a name, a street line and a country. Only compared,
    never read: kept as its SHA-256 digest."""
    address = address or {}
    name = name or address.get("name")
    parts = [
        _fold(name),
        _fold(address.get("line1")),
        _fold(address.get("postal_code")).replace(" ", ""),
        _fold(address.get("country")),
    ]
    if not (parts[0] and parts[1] and parts[3]):
        return None
    return "sha256:" + hashlib.sha256("|".join(parts).encode()).hexdigest()


def contact_claims(
    *,
    email: str | None = None,
    phone: str | None = None,
    email_verified: bool = False,
    phone_verified: bool = False,
    name: str | None = None,
    address: dict[str, Any] | None = None,
) -> list[Claim]:
    """An email, a phone (read in the address's country when it has no +) and the postal
    key, normalised; those that are not valid are left out."""
    region = (address or {}).get("country")
    found = []
    if email_value := normal_email(email):
        found.append(Claim("email", email_value, verified=email_verified))
    if phone_value := normal_phone(phone or (address or {}).get("phone"), region):
        found.append(Claim("phone", phone_value, verified=phone_verified))
    if postal := postal_key(name, address):
        found.append(Claim("postal", postal))
    return found


# ---------------------------------------------------------------- resolving


def resolve(session: Session, observation: Observation, now: datetime | None = None) -> str:
    """The customer row this intake belongs to (found, merged or made), its new
    identities added. Returns the row's id (follow ``profile_id`` for the profile)."""
    now = now or utcnow()
    claims = list({c.key: c for c in observation.claims}.values())
    for _ in range(_ATTEMPTS):
        savepoint = session.begin_nested()
        customer_id = _attempt(session, observation, claims, now)
        if customer_id is not None:
            savepoint.commit()
            return customer_id
        savepoint.rollback()  # someone else added one of these identities: again, with it
    raise RuntimeError(f"identities of {observation.source} keep changing")


def resolve_many(
    session: Session, observations: Sequence[Observation], now: datetime | None = None
) -> list[str]:
    """``resolve`` for many intakes (a batch of orders) in the same few statements
    whatever their number: one read of the identities, one insert of new customers, one
    of new identities. An intake that needs more (a merge, a suggestion) is resolved on
    its own after; if a concurrent intake wrote one of the batch's identities first, the
    batch's rows are taken back and each is resolved on its own."""
    now = now or utcnow()
    prepared = [list({c.key: c for c in o.claims}.values()) for o in observations]
    found = _existing(session, [c for claims in prepared for c in claims])
    known_ids = {o.known_customer_id for o in observations if o.known_customer_id}
    known = (
        {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(known_ids)))}
        if known_ids
        else {}
    )
    # What this batch adds, visible to its later intakes: key -> (row, profile, row dict).
    added: dict[tuple, tuple[str, str, dict]] = {}
    customers, rows, suggested = [], [], []
    results: list[str | None] = [None] * len(observations)
    alone: list[int] = []
    for index, (observation, claims) in enumerate(zip(observations, prepared, strict=True)):
        strong, weak = [], []
        if observation.known_customer_id in known:
            row = known[observation.known_customer_id]
            strong.append((row.id, row.profile_id))
        upgrades = []
        for claim in claims:
            if claim.key in found:
                identity, profile = found[claim.key]
                owner_row, verified = identity.customer_id, identity.verified
            elif claim.key in added:
                owner_row, profile, pending = added[claim.key]
                verified = pending["verified"]
            else:
                continue
            if claim.kind != "postal" and (claim.verified or verified):
                strong.append((owner_row, profile))
                if claim.verified and not verified:
                    upgrades.append(claim.key)
            else:
                weak.append((owner_row, profile, claim))
        profiles = {p for _, p in strong}
        if len(profiles) > 1:
            alone.append(index)  # a merge: resolved on its own below
            continue
        for key in upgrades:
            if key in found:
                found[key][0].verified, found[key][0].verified_at = True, now
            else:
                added[key][2].update(verified=True, verified_at=now)
        if strong:
            row_id, profile_id = strong[0]
        else:
            row_id = profile_id = new_id("cus")
            customers.append(_customer_row(row_id, observation, now))
        for claim in claims:
            if claim.key not in found and claim.key not in added:
                pending = _identity_row(row_id, claim, observation.source, now)
                rows.append(pending)
                added[claim.key] = (row_id, profile_id, pending)
        suggested += [
            (row_id, owner_row, profile, claim, observation.source)
            for owner_row, profile, claim in weak
            if profile != profile_id
        ]
        results[index] = row_id
    insert_rows(session, Customer.__table__, customers)  # COPY on PostgreSQL
    if rows:
        inserted = _insert_identities(session, rows)
        if len(inserted) != len(rows):  # a concurrent intake was first: each on its own
            session.execute(delete(Identity).where(Identity.id.in_(inserted)))
            session.execute(delete(Customer).where(Customer.id.in_([c["id"] for c in customers])))
            alone, suggested = list(range(len(observations))), []
    grouped: dict[tuple[str, str, str], tuple[str, list[Claim]]] = {}
    for row_id, owner_row, profile, claim, source in suggested:
        grouped.setdefault((row_id, profile, source), (owner_row, []))[1].append(claim)
    _suggest(
        session,
        [(row, owner, claims, source) for (row, _, source), (owner, claims) in grouped.items()],
        now,
    )
    for index in alone:
        results[index] = resolve(session, observations[index], now)
    return results  # type: ignore[return-value]


def _insert_identities(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Insert what no one holds yet; the ids of those inserted."""
    return set(insert_or_ignore_many(session, Identity, ("kind", "scope", "value_hash"), rows))


def _customer_row(row_id: str, observation: Observation, now: datetime) -> dict[str, Any]:
    name = (observation.name or None) and observation.name[:255]
    return {
        "id": row_id,
        "profile_id": row_id,
        "name": name,
        "search_terms": search_terms(names=(name,)),
        "language": observation.language,
        "created_at": now,
        "updated_at": now,
    }


def _identity_row(row_id: str, claim: Claim, source: str, now: datetime) -> dict[str, Any]:
    return {
        "id": new_id("idn"),
        "customer_id": row_id,
        "kind": claim.kind,
        "scope": claim.scope,
        "value": claim.value,
        "value_hash": value_key(claim.value),
        "verified": claim.verified,
        "source": source[:100],
        "created_at": now,
        "verified_at": now if claim.verified else None,
    }


def _attempt(
    session: Session, observation: Observation, claims: list[Claim], now: datetime
) -> str | None:
    found = _existing(session, claims)
    strong: list[tuple[str, str, Claim | None]] = []  # (row id, profile id, claim)
    weak: list[tuple[Identity, str, Claim]] = []
    if observation.known_customer_id:
        known = session.get(Customer, observation.known_customer_id)
        if known is not None:
            strong.append((known.id, known.profile_id, None))
    for claim in claims:
        hit = found.get(claim.key)
        if hit is None:
            continue
        identity, profile_id = hit
        if claim.kind != "postal" and (claim.verified or identity.verified):
            strong.append((identity.customer_id, profile_id, claim))
            if claim.verified and not identity.verified:
                identity.verified, identity.verified_at = True, now
        else:
            weak.append((identity, profile_id, claim))

    if strong:
        row_id, profile_id = strong[0][0], strong[0][1]
        profile_id = _merge_profiles(session, observation, strong, profile_id)
    else:
        row_id = new_id("cus")
        profile_id = row_id
        session.execute(insert(Customer), [_customer_row(row_id, observation, now)])

    new = [c for c in claims if c.key not in found]
    if new:
        inserted = _insert_identities(
            session, [_identity_row(row_id, c, observation.source, now) for c in new]
        )
        if len(inserted) != len(new):
            return None  # a concurrent intake wrote one of them first

    by_profile: dict[str, tuple[str, list[Claim]]] = {}
    for identity, other_profile, claim in weak:
        if other_profile != profile_id:
            by_profile.setdefault(other_profile, (identity.customer_id, []))[1].append(claim)
    _suggest(
        session,
        [(row_id, other, tied, observation.source) for other, tied in by_profile.values()],
        now,
    )
    if strong:
        _fill(session.get(Customer, row_id), observation, now)
    return row_id


def _existing(session: Session, claims: list[Claim]) -> dict[tuple, tuple[Identity, str]]:
    if not claims:
        return {}
    # One condition per kind and scope, each a list of hashes the unique index answers
    # (``db.among``): PostgreSQL took 16 ms to plan a (kind, scope, value_hash) IN list of
    # 256 tuples (a worker's batch of platform orders), under 1 ms to plan this.
    hashes: dict[tuple[str, str], set[str]] = {}
    for claim in claims:
        hashes.setdefault((claim.kind, claim.scope), set()).add(value_key(claim.value))
    params: dict[str, Any] = {}
    for n, ((kind, scope), found) in enumerate(sorted(hashes.items())):
        params[f"kind{n}"], params[f"scope{n}"], params[f"hashes{n}"] = kind, scope, sorted(found)
    postgresql = session.get_bind().dialect.name == "postgresql"
    rows = session.execute(_existing_query(len(hashes), postgresql), params).all()
    return {(i.kind, i.scope, i.value): (i, profile_id) for i, profile_id in rows}


@lru_cache(maxsize=16)
def _existing_query(groups: int, postgresql: bool):
    return (
        select(Identity, Customer.profile_id)
        .join(Customer, Customer.id == Identity.customer_id)
        .where(
            or_(
                *(
                    and_(
                        Identity.kind == bindparam(f"kind{n}"),
                        Identity.scope == bindparam(f"scope{n}"),
                        among(Identity.value_hash, f"hashes{n}", postgresql),
                    )
                    for n in range(groups)
                )
            )
        )
        .execution_options(populate_existing=True)
    )


def _merge_profiles(
    session: Session, observation: Observation, strong: list, profile_id: str
) -> str:
    """One intake strongly linked to several profiles: they are one person. Merged into
    the oldest; returns the profile kept."""
    profiles = list(dict.fromkeys(p for _, p, _ in strong))
    if len(profiles) == 1:
        return profile_id
    rows = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(profiles)))}
    ordered = sorted(profiles, key=lambda p: (rows[p].created_at, p))
    survivor = ordered[0]
    for other in ordered[1:]:
        # The claims that tied the intake to each side.
        tie = [c for _, p, c in strong if p in (survivor, other)]
        kinds = [c.kind for c in tie if c is not None]
        rule = "signed_in_buyer" if any(c is None for c in tie) else None
        rule = rule or next((_RULES[k] for k in kinds if k in _RULES), "verified_identity")
        said = ", ".join(
            f"{c.kind} {c.value}" + (" (verified)" if c.verified else " (verified on record)")
            for c in tie
            if c is not None
        )
        merges.merge(
            session,
            survivor,
            other,
            rule=rule,
            reason=f"{observation.source} links both profiles"
            + (f": {said}" if said else ": the signed-in buyer"),
            actor="system",
            evidence={
                "source": observation.source,
                "claims": [
                    {"kind": c.kind, "scope": c.scope, "value": c.value, "verified": c.verified}
                    for c in tie
                    if c is not None
                ],
            },
        )
    return survivor


def _fingerprint(evidence: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The identities a suggestion rests on, in one order (older rows said one claim)."""
    evidence = evidence or {}
    claims = evidence.get("claims") or [
        {"kind": evidence.get("kind"), "scope": "", "value": evidence.get("value")}
    ]
    return sorted((c.get("kind") or "", c.get("scope") or "", c.get("value") or "") for c in claims)


def _suggest(
    session: Session,
    items: list[tuple[str, str, list[Claim], str]],
    now: datetime,
) -> None:
    """Suggested merges for intakes weakly tied to other profiles, ``(row, other row,
    claims, source)`` each, in a few statements whatever their number.

    One suggestion per pair of profiles and per evidence: a pair with an open suggestion
    has its evidence extended (the new claims, the intake that saw them); a pair the
    merchant decided (accepted or dismissed) is not suggested again; and an intake
    resting on exactly the evidence of a suggestion about the same profile (a guest
    checking out again with the same typed email, the same name and address) joins that
    suggestion, open, instead of making another one, or nothing when it was decided:
    accepting merges every row it gathered, dismissing keeps them apart."""
    if not items:
        return
    ids = {row for row, _, _, _ in items} | {other for _, other, _, _ in items}
    profile_of = dict(
        session.execute(select(Customer.id, Customer.profile_id).where(Customer.id.in_(ids))).all()
    )
    # Every row of these profiles, locked: one writer at a time decides about them.
    members: dict[str, set[str]] = {}
    for row, profile in session.execute(
        select(Customer.id, Customer.profile_id)
        .where(Customer.profile_id.in_(set(profile_of.values())))
        .order_by(Customer.id)
        .with_for_update()
    ):
        members.setdefault(profile, set()).add(row)
        profile_of[row] = profile
    about = list(
        session.scalars(
            select(MergeSuggestion)
            .where(
                or_(
                    MergeSuggestion.customer_id.in_(set(profile_of)),
                    MergeSuggestion.other_id.in_(set(profile_of)),
                )
            )
            .order_by(MergeSuggestion.created_at, MergeSuggestion.id)
            .with_for_update()
        )
    )
    new: list[MergeSuggestion] = []
    for row_id, other_row, claims, source in items:
        ours = members.get(profile_of.get(row_id, row_id), {row_id})
        theirs = members.get(profile_of.get(other_row, other_row), {other_row})
        touching = [s for s in about + new if s.customer_id in theirs or s.other_id in theirs]
        pair = [s for s in touching if s.customer_id in ours or s.other_id in ours]
        if any(s.status != "open" for s in pair):
            continue  # decided by the merchant for this pair
        if pair:
            _seen_again(pair[0], claims, source, None)
            continue
        fingerprint = sorted(c.key for c in claims)
        same = [s for s in touching if _fingerprint(s.evidence) == fingerprint]
        if any(s.status != "open" for s in same):
            continue  # this evidence was decided about this profile already
        if same:
            _seen_again(same[0], claims, source, row_id)
            continue
        new.append(MergeSuggestion(**_suggestion_row(row_id, other_row, claims, source, now)))
    if new:
        columns = ("id", "customer_id", "other_id", "rule", "reason", "evidence", "status")
        session.execute(
            insert_or_ignore(session, MergeSuggestion, ("customer_id", "other_id")),
            [{**{c: getattr(s, c) for c in columns}, "created_at": now} for s in new],
        )


def _seen_again(
    suggestion: MergeSuggestion, claims: list[Claim], source: str, row_id: str | None
) -> None:
    evidence = dict(suggestion.evidence or {})
    known = {tuple(c) for c in _fingerprint(evidence)}
    listed = [{"kind": k, "scope": sc, "value": v} for k, sc, v in _fingerprint(evidence)] + [
        _said(c) for c in claims if c.key not in known
    ]
    evidence["claims"] = listed
    sources = evidence.get("sources") or [evidence.get("source")]
    evidence["sources"] = [s for s in sources if s and s != source][-49:] + [source]
    if row_id and row_id not in (suggestion.customer_id, suggestion.other_id):
        evidence["rows"] = list(dict.fromkeys([*(evidence.get("rows") or []), row_id]))
    suggestion.evidence = evidence  # a new dict: the JSON column sees the change
    seen = len(evidence["sources"])
    suggestion.reason = f"{_reason_of(listed)} (seen {seen} times, the latest {source})"[:2000]


def _said(claim: Claim) -> dict[str, str]:
    return {"kind": claim.kind, "scope": claim.scope, "value": claim.value}


def _reason_of(claims: list[dict[str, str]]) -> str:
    said = [
        "the same name at the same postal address"
        if c["kind"] == "postal"
        else f"the same {c['kind']} {c['value']}"
        for c in claims
    ]
    return " and ".join(said) + ", verified on neither side"


def _suggestion_row(
    row_id: str, other_row: str, claims: list[Claim], source: str, now: datetime
) -> dict[str, Any]:
    first = claims[0]
    if first.kind == "postal":
        rule = "name_and_address"
    else:
        rule = _WEAK_RULES.get(first.kind, f"unverified_{first.kind}")
    listed = [_said(c) for c in claims]
    newer, older = max(row_id, other_row), min(row_id, other_row)  # ids are time-ordered
    return {
        "id": new_id("sug"),
        "customer_id": newer,
        "other_id": older,
        "rule": rule,
        "reason": f"{source}: {_reason_of(listed)}"[:2000],
        "evidence": {
            "source": source,
            "kind": first.kind,
            "value": first.value,
            "claims": listed,
            "sources": [source],
        },
        "status": "open",
        "created_at": now,
    }


def _fill(customer: Customer | None, observation: Observation, now: datetime) -> None:
    if customer is None:
        return
    if observation.name and not customer.name:
        customer.name = observation.name
    if observation.language and not customer.language:
        customer.language = observation.language


# ---------------------------------------------------------------- reading


def of_profile(session: Session, profile_id: str) -> list[Identity]:
    return list(
        session.scalars(
            select(Identity)
            .join(Customer, Customer.id == Identity.customer_id)
            .where(Customer.profile_id == profile_id)
            .order_by(Identity.kind, Identity.created_at, Identity.id)
        )
    )


def made_by(session: Session, customer_id: str | None, source: str) -> bool:
    """Was this row made by ``source`` alone (every identity it holds first seen there,
    nothing remembered on it)? Such a row is only that intake's person."""
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None or customer.email or customer.phone or customer.payment_method_ref:
        return False
    sources = set(
        session.scalars(select(Identity.source).where(Identity.customer_id == customer.id))
    )
    return sources == {source}


def owner(session: Session, claim: Claim) -> Customer | None:
    """The customer row holding this identity, if any."""
    return session.scalar(
        select(Customer)
        .join(Identity, Identity.customer_id == Customer.id)
        .where(
            Identity.kind == claim.kind,
            Identity.scope == claim.scope,
            Identity.value_hash == value_key(claim.value),
        )
    )


def forget(session: Session, identity_ids: Iterable[str]) -> int:
    return session.execute(delete(Identity).where(Identity.id.in_(list(identity_ids)))).rowcount
