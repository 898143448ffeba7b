"""What the ad platforms report of a campaign's day: spend, impressions and clicks, read
from their reporting APIs (Meta's Ads Insights, Pinterest's campaign analytics).

Plain data and HTTP only (facts and sources: docs/platforms/meta.md "Ads Insights",
docs/platforms/pinterest.md "Campaign analytics")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mercato.channels.http import PlatformError


@dataclass(frozen=True)
class AdAccount:
    account_id: str
    access_token: str
    base_url: str


@dataclass(frozen=True)
class CampaignDay:
    """One campaign's figures for one day (the ad account's reporting day), on one of the
    platform's placements (Meta's ``publisher_platform``: facebook, instagram, ...)."""

    day: date
    channel: str
    campaign: str
    spend: Decimal  # major units of ``currency``, as the platform reports it
    currency: str
    impressions: int
    clicks: int


class ReportRefused(PlatformError):
    """The platform refused the report request; its words are kept."""
