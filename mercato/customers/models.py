"""Customers: one profile per person across every channel (their identities, merges and
suggested merges), and returning buyers with a saved address and payment method token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from mercato.crypto import (
    ContactKeys,
    Encrypted,
    EncryptedJSON,
    country_of,
    email_key,
    search_terms,
    value_key,
)
from mercato.db import Base, JSONType, UTCDateTime, new_id, utcnow

# email and phone (E.164): contact points. platform: a person's id on one channel or
# messaging account (TikTok Shop buyer user id, Instagram-scoped id, Messenger page-scoped
# id, WhatsApp wa_id). device: the shop's visitor id, sent only with analytics consent.
# postal: name and postal address together, never enough to link, only to suggest.
IDENTITY_KINDS = ("email", "phone", "platform", "device", "postal")
MERGE_STATUSES = ("active", "undone")
SUGGESTION_STATUSES = ("open", "accepted", "dismissed")
# What a person may agree to, and on which channel (marketing only; "" for the rest).
CONSENT_PURPOSES = ("marketing", "analytics", "personalisation")
CONSENT_CHANNELS = ("email", "whatsapp", "messenger", "instagram", "sms", "")
CONSENT_SOURCES = ("storefront_checkout", "api", "inbox", "import", "cli", "dashboard")


__all__ = ["email_key", "value_key"]  # the keyed hashes contact points are found by


class Customer(ContactKeys, Base):
    """A person, as one or more rows merged into one profile. ``profile_id`` is the row
    that stands for the whole profile (its own id when not merged): orders, conversations,
    checkouts and identities keep pointing at the row they were linked to, and follow the
    profile through it, so an unmerge restores exactly what each side had.

    ``email`` and ``phone`` are the contact a returning buyer signs in with (set only when
    they asked to be remembered); every contact point is an identity. Payment methods are
    the provider's tokens only. Email and phone are encrypted at rest, each looked up
    (and unique) by its keyed hash beside it; name, notes and address are encrypted too,
    the name searched by the keyed hashes of its words (``search_terms``), the address's
    country kept beside it for segments."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cus"))
    # The profile this row belongs to: itself, or the root it was merged into.
    profile_id: Mapped[str] = mapped_column(String(40), index=True)
    merged_into_id: Mapped[str | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(Encrypted())
    email_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone: Mapped[str | None] = mapped_column(Encrypted())
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(Encrypted())
    search_terms: Mapped[str | None] = mapped_column(Text)
    # BCP 47, e.g. "pt-BR": the language to write to them in.
    language: Mapped[str | None] = mapped_column(String(35))
    notes: Mapped[str | None] = mapped_column(Encrypted())
    address: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON())
    country: Mapped[str | None] = mapped_column(String(2))
    # The provider's own references (e.g. Stripe cus_... and pm_...), never card data.
    payment_provider: Mapped[str | None] = mapped_column(String(32))
    payment_customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __init__(self, **kw: Any):
        kw.setdefault("id", new_id("cus"))
        kw.setdefault("profile_id", kw["id"])
        super().__init__(**kw)

    @validates("name")
    def _search_name(self, _: str, value: str | None) -> str | None:
        self.search_terms = search_terms(names=(value,))
        return value

    @validates("address")
    def _keep_country(self, _: str, value: dict[str, Any] | None) -> dict[str, Any] | None:
        self.country = country_of(value)
        return value


class Identity(Base):
    """One way of recognising a person, normalised, owned by one customer row: no two rows
    hold the same (kind, scope, value), which is what keeps two intakes of one new person
    at once from making two. The value is encrypted at rest: it is looked up, and unique,
    by its keyed hash (``value_hash``)."""

    __tablename__ = "customer_identities"
    __table_args__ = (
        CheckConstraint(f"kind IN {IDENTITY_KINDS}", name="kind"),
        UniqueConstraint("kind", "scope", "value_hash"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("idn"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    # Where a platform id is valid: "<platform>:<channel or account id>"; "" for the rest.
    scope: Mapped[str] = mapped_column(String(100), default="")
    value: Mapped[str] = mapped_column(Encrypted())
    value_hash: Mapped[str] = mapped_column(String(64))
    # Proven to be the person's: said by the platform itself (a WhatsApp sender's number,
    # a platform's buyer id), or by a used sign-in link; typed into a form is not.
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # What it was first seen on: "order:<id>", "conversation:<id>", "checkout:<id>", "api".
    source: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @validates("value")
    def _hash_value(self, _: str, value: str) -> str:
        self.value_hash = value_key(value)
        return value


class Merge(Base):
    """One profile merged into another: why, by whom or by which rule, and what undoes it
    (the merged row's profile becomes its own again, with everything linked to it)."""

    __tablename__ = "customer_merges"
    __table_args__ = (CheckConstraint(f"status IN {MERGE_STATUSES}", name="status"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("mrg"))
    # The profile kept and the profile merged into it (both roots when merged).
    survivor_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # The rule ("verified_email", "verified_phone", "verified_platform_id",
    # "signed_in_buyer", "suggestion_accepted", "manual") and its words.
    rule: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    # "system" for a rule, "token:<id>" / "cli" / "admin:<name>" for a person.
    actor: Mapped[str] = mapped_column(String(100))
    # The identities that matched and the record that brought them (an order, a message).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    # The rows of the merged profile at the time (all go back on an unmerge).
    merged_rows: Mapped[list[str]] = mapped_column(JSONType(), default=list)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(100))


class MergeSuggestion(Base):
    """Two profiles that may be one person (a weak match): shown to the merchant, who
    accepts (a merge) or dismisses it (never suggested again); never applied on its own."""

    __tablename__ = "customer_merge_suggestions"
    __table_args__ = (
        CheckConstraint(f"status IN {SUGGESTION_STATUSES}", name="status"),
        UniqueConstraint("customer_id", "other_id"),
        Index("ix_customer_merge_suggestions_status", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("sug"))
    # The newer row and the older one it resembles (the pair in one order: one suggestion).
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    other_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # "unverified_email", "unverified_phone", "name_and_address".
    rule: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    status: Mapped[str] = mapped_column(String(10), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(100))
    merge_id: Mapped[str | None] = mapped_column(
        ForeignKey("customer_merges.id", ondelete="SET NULL")
    )


class Tag(Base):
    """A merchant's label on a customer row (a profile's tags are its rows' tags)."""

    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"), Index("ix_customer_tags_tag", "tag"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("ctg"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    """One answer a person gave: agreed or withdrew, to one purpose on one channel, when,
    where, and the exact words they were shown. Never updated: the latest answer per
    purpose and channel is the one in force, the rest is the history."""

    __tablename__ = "customer_consents"
    __table_args__ = (
        CheckConstraint(f"purpose IN {CONSENT_PURPOSES}", name="purpose"),
        CheckConstraint(f"channel IN {CONSENT_CHANNELS}", name="channel"),
        CheckConstraint(f"source IN {CONSENT_SOURCES}", name="source"),
        Index("ix_customer_consents_customer", "customer_id", "purpose", "channel", "recorded_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("cns"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(16), default="")
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(24))
    # The words shown to the person, exactly (a checkbox's label, a keyword's reply).
    wording: Mapped[str] = mapped_column(Text)
    # Where: "checkout:<id>", "conversation:<id>", "token:<name>"; the contact it was for.
    reference: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginLink(Base):
    """A one-time sign-in link sent to a customer. The link is signed and carries this
    row's id; the row makes it single use and says which checkout to return to."""

    __tablename__ = "customer_login_links"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("lgn"))
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    checkout_id: Mapped[str | None] = mapped_column(
        ForeignKey("checkouts.id", ondelete="SET NULL"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
