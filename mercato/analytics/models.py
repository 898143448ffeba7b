"""The touch ledger: every impression, click, visit, cart, purchase, refund and message,
append-only, and the ad spend imported per campaign."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mercato.db import Amount, Base, JSONType, UTCDateTime, new_id, utcnow

RowId = BigInteger().with_variant(Integer, "sqlite")

# Imported as daily aggregates per post or ad (count > 1): impression, click, reach,
# interaction. One per person and moment: the rest.
TOUCH_KINDS = (
    "impression",
    "click",
    "reach",
    "interaction",
    "visit",
    "product_view",
    "add_to_cart",
    "checkout_started",
    "purchase",
    "refund",
    "message",
    "comment",
)
# What a shop visitor's browser may report (POST /api/v1/analytics/touches).
BROWSER_KINDS = ("visit", "product_view", "add_to_cart", "purchase")
SOURCES = ("browser", "server", "import")


class Touch(Base):
    __tablename__ = "analytics_touches"
    __table_args__ = (
        CheckConstraint(f"kind IN {TOUCH_KINDS}", name="kind"),
        CheckConstraint(f"source IN {SOURCES}", name="source"),
        CheckConstraint("count >= 0", name="count_not_negative"),
        # The reads: a period (retention, KPIs), a visitor's or customer's journey.
        Index("ix_analytics_touches_at", "at"),
        Index("ix_analytics_touches_kind_at", "kind", "at"),
        Index("ix_analytics_touches_visitor_at", "visitor_id", "at"),
        Index("ix_analytics_touches_customer_at", "customer_id", "at"),
        Index("ix_analytics_touches_order_id", "order_id"),
        Index("ix_analytics_touches_experiment", "experiment"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    # The same event seen by the browser and by the server carries one id: stored once.
    event_id: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(100))
    campaign: Mapped[str | None] = mapped_column(String(255))
    post: Mapped[str | None] = mapped_column(String(255))
    creator: Mapped[str | None] = mapped_column(String(255))
    conversation_id: Mapped[str | None] = mapped_column(String(40))
    utm_source: Mapped[str | None] = mapped_column(String(255))
    utm_medium: Mapped[str | None] = mapped_column(String(255))
    utm_campaign: Mapped[str | None] = mapped_column(String(255))
    utm_content: Mapped[str | None] = mapped_column(String(255))
    utm_term: Mapped[str | None] = mapped_column(String(255))
    # A random id the browser keeps; none without the visitor's consent.
    visitor_id: Mapped[str | None] = mapped_column(String(64))
    # Set on a visitor's touches only when they consented (see stitching in ledger.py).
    customer_id: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[str | None] = mapped_column(String(40))
    product_id: Mapped[str | None] = mapped_column(String(40))
    # Purchases positive, refunds negative; integer minor units of ``currency``.
    value: Mapped[int | None] = mapped_column(Amount)
    currency: Mapped[str | None] = mapped_column(String(3))
    country: Mapped[str | None] = mapped_column(String(2))
    # 1 for a single touch; the day's total for an imported aggregate row.
    count: Mapped[int] = mapped_column(Integer, default=1)
    # "<experiment id>:<arm>" when the touch belongs to a live comparison (experiments.py).
    experiment: Mapped[str | None] = mapped_column(String(60))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AdSpend(Base):
    """What a campaign cost on a day, imported from CSV or a platform's report export."""

    __tablename__ = "analytics_ad_spend"
    __table_args__ = (
        UniqueConstraint("day", "channel", "campaign", "currency"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(100))
    campaign: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


AD_REPORT_PLATFORMS = ("meta", "pinterest")


class AdReportSource(Base):
    """An ad account whose daily spend, impressions and clicks per campaign are read from
    the platform's reporting API into the ledger (analytics/ad_reports.py)."""

    __tablename__ = "analytics_ad_accounts"
    __table_args__ = (
        CheckConstraint(f"platform IN {AD_REPORT_PLATFORMS}", name="platform"),
        UniqueConstraint("platform", "account_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("adac"))
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(2048))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The platform's words when the last pull was refused; cleared by the next success.
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


EXPERIMENT_STATUSES = ("running", "stopped")
ARMS = ("a", "b")


class Experiment(Base):
    """Two ways of filling the product page's recommendation row compared on live
    traffic: each visitor sees one arm (``share_b`` percent see B), and the ledger's
    touches tagged with the arm count the outcome. At most one runs at a time."""

    __tablename__ = "analytics_experiments"
    __table_args__ = (
        CheckConstraint(f"status IN {EXPERIMENT_STATUSES}", name="status"),
        CheckConstraint("share_b BETWEEN 1 AND 99", name="share_b"),
        CheckConstraint("arm_a <> arm_b", name="arms_differ"),
        Index(
            "ux_analytics_experiments_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("exp"))
    name: Mapped[str] = mapped_column(String(120))
    # What each arm shows: a strategy of recommendations.serving.STRATEGIES.
    arm_a: Mapped[str] = mapped_column(String(16))
    arm_b: Mapped[str] = mapped_column(String(16))
    share_b: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(10), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


CLV_STATUSES = ("fitted", "not_enough_data", "unavailable")


class ClvRun(Base):
    """One fit of the lifetime value models (analytics/clv.py) over the ledger's
    purchases in one currency, with its holdout check; the latest fitted run's customer
    figures are kept in ``analytics_clv_scores``."""

    __tablename__ = "analytics_clv_runs"
    __table_args__ = (
        CheckConstraint(f"status IN {CLV_STATUSES}", name="status"),
        Index("ix_analytics_clv_runs_currency_at", "currency", "fitted_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("clv"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    # Why there is no fit (too few purchases, the library missing).
    detail: Mapped[str | None] = mapped_column(Text)
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last day of purchases read (the store's zone).
    until: Mapped[date] = mapped_column(Date)
    horizon_months: Mapped[int] = mapped_column(Integer)
    monthly_discount: Mapped[float] = mapped_column(Float)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    repeat_customers: Mapped[int] = mapped_column(Integer, default=0)
    # r, alpha, a, b (BG/NBD) and p, q, v (Gamma-Gamma).
    params: Mapped[dict | None] = mapped_column(JSONType)
    # The holdout check (clv.Holdout as JSON), or why there was none.
    holdout: Mapped[dict | None] = mapped_column(JSONType)


class ClvScore(Base):
    """A customer's predicted purchases, chance of still being a customer and lifetime
    value over the run's horizon, in minor units of the run's currency."""

    __tablename__ = "analytics_clv_scores"
    __table_args__ = (
        Index("ix_analytics_clv_scores_run_clv", "run_id", "clv"),
        Index("ix_analytics_clv_scores_customer", "customer_id"),
    )

    run_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("analytics_clv_runs.id", ondelete="CASCADE"), primary_key=True
    )
    # The ledger's customer id (a digest, never an email).
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    frequency: Mapped[int] = mapped_column(Integer)
    recency_days: Mapped[int] = mapped_column(Integer)
    age_days: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[int] = mapped_column(Amount)
    expected_purchases: Mapped[float] = mapped_column(Float)
    p_alive: Mapped[float] = mapped_column(Float)
    expected_spend: Mapped[int] = mapped_column(Amount)
    clv: Mapped[int] = mapped_column(Amount)
