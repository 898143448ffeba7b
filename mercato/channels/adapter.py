"""What sync asks of every platform's client: push items, poll verdicts, list what the
platform holds. Clients translate and talk HTTP; they decide nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from typing import Protocol

import httpx

from mercato.channels.rules import issue
from mercato.channels.target import Target


@dataclass
class Outcome:
    """What the platform said about one item of a push or a poll."""

    item_id: str
    # "pending" while the platform is still processing; else approved|rejected|warning,
    # or "resend" when the platform cannot say what became of the item (send it again).
    verdict: str
    issues: list[dict] = field(default_factory=list)
    # Where to ask for the verdict later (a batch handle), if any.
    ref: str | None = None
    platform_ref: str | None = None


@dataclass
class Upsert:
    item_id: str
    payload: dict
    # The product it belongs to (platforms that list products, not variants, need it).
    group: str | None = None
    platform_ref: str | None = None
    # What the platform was last sent for this item (its summary), if known: platforms with
    # separate stock and price calls send only those when nothing else changed.
    previous: dict | None = None


class Adapter(Protocol):
    kind: str

    def verify(self) -> str:
        """One cheap authenticated call: what the credentials reach (raises PlatformError)."""

    def push(self, upserts: list[Upsert], deletes: list[str]) -> list[Outcome]: ...

    def poll(self, ref: str, item_ids: list[str]) -> list[Outcome]: ...

    def remote_items(self, expected: dict[str, str | None]) -> dict[str, dict] | None:
        """item id -> summary of what the platform holds (None: it cannot list).
        ``expected``: the items that should be there, with the platform's ref of each."""


def platform_issue(
    field: str, message: str, severity: str = "error", rule: str | None = None
) -> dict:
    """What the platform said of an item, in its own words (``rule``: its code for it)."""
    return issue(field, message, severity, "platform", rule)


def adapter_for(
    kind: str, target: Target, credentials: dict[str, str], http: httpx.Client, images=None
) -> Adapter:
    """The kind's client; ``images`` (an ImageUploads) for platforms that host their own
    copies of images."""
    module = import_module(f"mercato.channels.{kind}.client")
    if getattr(module.Client, "uploads_images", False):
        return module.Client(target, credentials, http, images)
    return module.Client(target, credentials, http)
