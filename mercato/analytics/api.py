"""Analytics API: the shop browser's touches (no token), and reports over the ledger."""

import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.background import BackgroundTask

from mercato.analytics import (
    attribution_ledger,
    browser_touches,
    clv_runs,
    kpis,
    reports,
    warehouse,
)
from mercato.analytics.attribution import MODELS, Options
from mercato.analytics.auth import AnalyticsRead, AnalyticsWrite
from mercato.analytics.result import as_json
from mercato.analytics.rules import DIRECT
from mercato.analytics.schemas import BrowserTouchCreate, ClvFitCreate, ClvFitQueued, TouchRecorded
from mercato.db import utcnow
from mercato.errors import NotFound
from mercato.web.address_limits import count_browser_touch
from mercato.web.requests import body_of_at_most
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(tags=["analytics"])
# A report's period: days in the store's zone (the last 30 by default).
Since = Annotated[date | None, Query(alias="from", description="First day (store's zone)")]
Until = Annotated[date | None, Query(alias="to", description="Last day, inclusive")]
# A touch is a few hundred bytes; anything much larger is not from the shop's script.
MAX_TOUCH_BYTES = 4096


async def _browser_touch(request: Request) -> BrowserTouchCreate:
    """The body, refused (413) past MAX_TOUCH_BYTES before it is read whole: this
    endpoint takes no token, so anyone can post to it."""
    body = await body_of_at_most(request, MAX_TOUCH_BYTES)
    try:
        return BrowserTouchCreate.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


BrowserTouch = Annotated[BrowserTouchCreate, Depends(_browser_touch)]


@router.post(
    "/analytics/touches",
    response_model=TouchRecorded,
    dependencies=[Depends(count_browser_touch)],
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {}}}},
)
def record_touch(data: BrowserTouch, session: WriteSession):
    """A shop visitor's browser reports a visit, a product view, an add to cart, or the
    purchase it just saw (by the order's event id: counted once with the server's).
    Body: `BrowserTouchCreate` (kind, event_id, visitor_id only with consent, params)."""
    event_id, recorded = browser_touches.record(session, data, utcnow())
    return TouchRecorded(event_id=event_id, recorded=recorded)


@router.get("/analytics/kpis")
def get_kpis(
    session: ReadSession,
    _: AnalyticsRead,
    since: Since = None,
    until: Until = None,
    by: Annotated[str | None, Query(description=", ".join(kpis.DIMENSIONS))] = None,
    bucket: Annotated[str | None, Query(description="day, week or month")] = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
) -> dict:
    """Sessions, orders, conversion rates, AOV, revenue net of refunds, spend, ROAS, CAC,
    engagement, repeat rate, historical CLV and CSAT, each with its formula."""
    period = kpis.asked(since, until)
    report = kpis.kpis(session, period, reports.currency(currency), by, bucket)
    return kpis.as_json(report)


@router.get("/analytics/attribution")
def get_attribution(
    session: ReadSession,
    _: AnalyticsRead,
    model: Annotated[str, Query(description=f"{', '.join(MODELS)}, or all")] = "all",
    since: Since = None,
    until: Until = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    half_life: Annotated[float, Query(gt=0, description="Time decay's half-life, days")] = 7.0,
    lookback: Annotated[float | None, Query(gt=0, description="Days before a purchase")] = None,
) -> dict:
    """The period's purchases credited to channels by one model or all side by side,
    over journeys built from the ledger (docs/analytics/attribution.md)."""
    period = kpis.asked(since, until)
    options = Options(half_life, DIRECT, lookback)
    report = attribution_ledger.attribute_period(
        session, period, reports.currency(currency), model, options
    )
    return {**as_json(report.attributions), "notes": report.notes}


@router.get("/analytics/clv")
def get_clv(
    session: ReadSession,
    _: AnalyticsRead,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Customers listed")] = 20,
) -> dict:
    """The latest predicted lifetime value fit in the currency (BG/NBD + Gamma-Gamma):
    its parameters, its holdout check, the totals and the customers worth most, with the
    formulas (docs/analytics/clv.md)."""
    return clv_runs.as_json(session, clv_runs.latest(session, currency), limit)


@router.post("/analytics/clv/fits", status_code=202)
def fit_clv(data: ClvFitCreate, session: WriteSession, _: AnalyticsWrite) -> ClvFitQueued:
    """Fit the lifetime value models again now (the worker also does it daily)."""
    options = clv_runs.Options(
        data.currency or "", data.horizon_months, data.monthly_discount, data.holdout_days
    )
    return ClvFitQueued(job_id=clv_runs.queue_fit(session, options))


EXPORT_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/analytics/export/{file_name}",
    response_class=FileResponse,
    responses={200: {"content": {t: {} for t in EXPORT_TYPES.values()}}},
)
def export_table(
    file_name: str,
    session: ReadSession,
    _: AnalyticsRead,
    since: Since = None,
    until: Until = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
):
    """One table of the period's ledger as a file: `touches`, `ad_spend` or `journeys`,
    then `.parquet` or `.csv` (docs/analytics/warehouse.md)."""
    table, _dot, fmt = file_name.partition(".")
    if table not in warehouse.TABLES or fmt not in EXPORT_TYPES:
        raise NotFound(
            f"No export {file_name}: one of {', '.join(warehouse.TABLES)}, as .parquet or .csv."
        )
    period = kpis.asked(since, until)
    spool = Path(tempfile.mkdtemp(prefix="mercato-export-"))
    try:
        warehouse.write(session, period, reports.currency(currency), spool, fmt, (table,))
    except BaseException:
        shutil.rmtree(spool, ignore_errors=True)
        raise
    return FileResponse(
        spool / file_name,
        media_type=EXPORT_TYPES[fmt],
        filename=file_name,
        background=BackgroundTask(shutil.rmtree, spool, ignore_errors=True),
    )
