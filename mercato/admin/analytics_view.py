"""The analytics page's figures as the merchant reads them: KPI tiles with their
formulas, charts (charts.py) and the tables of the same numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from mercato.admin import charts
from mercato.analytics import dashboard, kpis
from mercato.money import exponent, format_plain

# The tiles, in order: (KPI, title, how its value reads).
TILES = (
    ("revenue_net", "Revenue net of refunds", "money"),
    ("orders", "Orders", "count"),
    ("sessions", "Sessions", "count"),
    ("conversion_rate_sessions", "Conversion rate (sessions)", "percent"),
    ("conversion_rate_users", "Conversion rate (users)", "percent"),
    ("aov", "Average order value", "money"),
    ("refunds", "Refunds", "money"),
    ("new_customers", "New customers", "count"),
    ("repeat_rate", "Repeat rate", "percent"),
    ("clv_historical", "Historical CLV", "money"),
    ("spend", "Ad spend", "money"),
    ("roas", "ROAS", "times"),
    ("cac", "CAC", "money"),
    ("engagement_rate", "Engagement rate", "percent"),
    ("csat", "CSAT", "percent"),
)
STEP_NAMES = {
    "sessions": "Sessions",
    "product_views": "Product views",
    "add_to_cart": "Add to cart",
    "checkouts_started": "Checkout started",
    "orders": "Orders through the shop",
}


@dataclass
class Tile:
    key: str
    title: str
    value: str
    unit: str  # the currency of a sum of money
    formula: str


def shown(value: float | None, how: str, currency: str) -> str:
    """A KPI as a merchant reads it; an unknown ratio (a denominator of 0) is a dash."""
    if value is None:
        return "–"
    if how == "money":  # minor units, a fraction of one rounded away
        return format_plain(round(value), currency)
    if how == "percent":
        return f"{value:.1%}"
    if how == "times":
        return f"{value:.2f}×"
    return f"{value:,}"


def _major(currency: str):
    """Chart axis labels: minor units as whole major units, thousands as k."""

    def fmt(minor: float) -> str:
        major = minor / 10 ** exponent(currency)
        return f"{major / 1000:g}k" if abs(major) >= 1000 else f"{major:g}"

    return fmt


def bucket_label(bucket: date, grain: str) -> str:
    if grain == "month":
        return f"{bucket:%b %Y}"
    return f"{bucket:%b} {bucket.day}"


def _table_rows(labels, revenue, orders) -> list[tuple[str, list[tuple[int, int]], int, int]]:
    """Per bucket that sold or refunded: each channel's (net revenue, orders), the totals."""
    rows = []
    for i, label in enumerate(labels):
        cells = [(r[i], o[i]) for (_, r), (_, o) in zip(revenue, orders, strict=True)]
        net, count = sum(c[0] for c in cells), sum(c[1] for c in cells)
        if net or count:
            rows.append((label, cells, net, count))
    return rows


def context(view: dashboard.Overview) -> dict:
    currency = view.currency
    total = view.report.total.values
    formulas = view.report.formulas
    tiles = [
        Tile(
            k,
            title,
            shown(total[k], how, currency),
            currency if how == "money" and total[k] is not None else "",
            formulas[k],
        )
        for k, title, how in TILES
    ]
    labels = [bucket_label(b, view.grain) for b in view.buckets]
    revenue = dashboard.series(view, "revenue_net")
    orders = dashboard.series(view, "orders")
    funnel = [
        (STEP_NAMES[s.name], s.count, shown(s.rate, "percent", currency)) for s in view.funnel
    ]
    found: dict = {
        "view": view,
        "tiles": tiles,
        "labels": labels,
        "revenue": revenue,
        "orders": orders,
        "funnel": funnel,
        # Orders placed in a platform's own shop took none of the funnel's steps.
        "orders_elsewhere": total["orders"] - view.funnel[-1].count,
        "table_rows": _table_rows(labels, revenue, orders),
        "funnel_formulas": kpis.FUNNEL_FORMULAS,
        "charts": {
            "revenue": charts.stacked_columns(
                "Revenue net of refunds by channel",
                labels,
                revenue,
                _major(currency),
                "table-by-channel",
            ),
            "orders": charts.stacked_columns(
                "Orders by channel",
                labels,
                orders,
                lambda n: f"{n:g}",
                "table-by-channel",
                whole=True,
            ),
            "funnel": charts.bars(
                "Funnel",
                [
                    (name, count, f"{count:,}" + (f" · {rate}" if i else ""))
                    for i, (name, count, rate) in enumerate(funnel)
                ],
                "table-funnel",
            ),
        },
    }
    if view.attribution is not None:
        models = [r.model for r in view.attribution.attributions]
        # A channel keeps the colour and place it has in the charts above.
        order = [name for name, _ in revenue]
        rows = sorted(
            dashboard.side_by_side(view.attribution),
            key=lambda row: order.index(row[0]) if row[0] in order else len(order),
        )
        digits = exponent(currency)
        found["models"] = [dashboard.MODEL_NAMES[m] for m in models]
        found["attribution_rows"] = [
            (channel, [f"{v:,.{digits}f}" for v in values], [f"{c:,.2f}" for c in conversions])
            for channel, values, conversions in rows
        ]
        found["charts"]["attribution"] = charts.stacked_bars(
            f"Value credited to each channel by each model, {currency}",
            [
                (name, [values[m] for _, values, _ in rows])
                for m, name in enumerate(found["models"])
            ],
            [channel for channel, _, _ in rows],
            lambda v: f"{v:,.{digits}f}",
            "table-attribution",
        )
    return found
