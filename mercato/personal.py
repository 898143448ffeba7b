"""How a domain declares the personal data its tables hold: plain data, read by the
privacy workflow (``mercato.privacy``) to find, export and erase everything about a person.

Each domain lists its tables in its own ``personal_data.py``; a test fails when a column
that looks personal is neither declared personal nor declared not personal with a reason.

Rows of a person are found through identifiers, each of one kind (``KINDS``): a row is
theirs when a ``find`` column holds one of their identifiers, or a ``search`` column (a
payload) contains one of their strong identifiers (an email, a phone number, a platform's
id of them, a platform order id). Identifiers read from the ``find`` columns of the rows
found are followed in turn, until nothing new turns up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# What an identifier is. "order_ref": a platform's own order id (found in its payloads).
KINDS = (
    "email",
    "phone",
    "platform_user",
    "visitor",
    "customer",
    "order",
    "order_ref",
    "checkout",
    "conversation",
    "event",
    "mail",
    "webhook_delivery",
)
# Identifiers looked for inside payloads (``search`` columns).
STRONG_KINDS = ("email", "phone", "platform_user", "order_ref")

# What erasure writes into a personal column of a row that is kept:
# "clear": None (a JSON address keeps only its country), "pseudonym": one random value per
# erasure (so that the person's rows still group together, e.g. a journey), "hash": a
# keyed hash (proof of who a request was about, without the value).
Treatment = Literal["clear", "pseudonym", "hash"]


@dataclass(frozen=True)
class PersonalTable:
    """One table's personal data.

    ``erase``: "delete" the person's rows, or "pseudonymise" them (the row is kept, e.g. an
    order for tax law: its ``personal`` columns are treated, its ``payloads`` scrubbed of
    every personal value found about the person); ``why_kept`` says why.
    """

    table: str
    # column -> kind(s) of identifier it holds
    find: Mapping[str, str | tuple[str, ...]]
    erase: Literal["delete", "pseudonymise"]
    personal: Mapping[str, Treatment] = field(default_factory=dict)
    # JSON, text or bytes that may contain personal data
    payloads: tuple[str, ...] = ()
    # payload columns searched for the person's strong identifiers
    search: tuple[str, ...] = ()
    # look-alike columns and why they hold no personal data
    not_personal: Mapping[str, str] = field(default_factory=dict)
    why_kept: str = ""

    def __post_init__(self):
        for column, kinds in self.find.items():
            for kind in (kinds,) if isinstance(kinds, str) else kinds:
                if kind not in KINDS:
                    raise ValueError(f"{self.table}.{column}: unknown identifier kind {kind!r}")
        if self.erase == "pseudonymise" and not self.why_kept:
            raise ValueError(f"{self.table}: say why its rows are kept")
        if set(self.search) - set(self.payloads) - set(self.personal):
            raise ValueError(f"{self.table}: searched columns must be declared")


@dataclass(frozen=True)
class NotPersonal:
    """A table holding no personal data of buyers, the look-alike columns it has, and why."""

    table: str
    why: str
    columns: tuple[str, ...] = ()


Declaration = PersonalTable | NotPersonal
