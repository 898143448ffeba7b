from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from mercato.inventory import counts, locations, reports, reservations
from mercato.inventory.auth import InventoryRead, InventoryWrite
from mercato.inventory.reservation_batches import ReservationBatcher, Settlement
from mercato.inventory.reservations import ReservationRequest
from mercato.inventory.schemas import (
    AdjustmentCreate,
    AdjustmentPublic,
    ChannelRuleInput,
    ChannelRulePublic,
    InventoryPublic,
    LocationInput,
    LocationPublic,
    ReservationCreate,
    ReservationExtend,
    ReservationPublic,
)
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(prefix="/inventory", tags=["inventory"])

LocationCode = Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ChannelKey = Annotated[str, Path(max_length=100, pattern=r"^[\w.:-]+$")]
INSUFFICIENT = {
    409: {
        "description": "Not enough stock: /problems/insufficient-stock names "
        "each short line and what it could get"
    }
}


def _batcher(request: Request) -> ReservationBatcher:
    return ReservationBatcher.of(request.app.state, "reservation_batcher")


# Reservations, commits and releases are written in batches, one per process.
Batcher = Annotated[ReservationBatcher, Depends(_batcher)]


def _actor(token) -> str:
    return f"token:{token.id}"


@router.get("", response_model=InventoryPublic)
def get_inventory(
    session: ReadSession, _: InventoryRead, sku: Annotated[str, Query(min_length=1, max_length=255)]
):
    """A variant's stock per location and what each channel may publish."""
    return reports.inventory_by_sku(session, sku)


@router.post(
    "/adjustments",
    response_model=AdjustmentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=INSUFFICIENT,
)
def create_adjustment(data: AdjustmentCreate, session: WriteSession, token: InventoryWrite):
    """Add or remove units, or record a counted total; every change is a ledger movement."""
    return counts.adjust(session, data, actor=_actor(token))


@router.post(
    "/reservations",
    response_model=ReservationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=INSUFFICIENT,
)
async def create_reservation(
    data: ReservationCreate,
    batcher: Batcher,
    token: InventoryWrite,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
):
    """Hold every line or none (or, with ``commit``, sell them at once). The same channel
    and reference (or Idempotency-Key) returns the same reservation (200)."""
    reservation = await batcher.reserve(
        ReservationRequest(
            data.lines,
            channel=data.channel,
            reference=data.reference or idempotency_key,
            ttl_seconds=data.ttl_seconds,
            allocation=data.allocation,
            sell=data.commit,
            actor=_actor(token),
        )
    )
    if reservation.replayed:
        response.status_code = status.HTTP_200_OK
    return reservation


@router.get("/reservations/{reservation_id}", response_model=ReservationPublic)
def get_reservation(reservation_id: str, session: ReadSession, _: InventoryRead):
    return reservations.get_reservation(session, reservation_id)


@router.post("/reservations/{reservation_id}/commit", response_model=ReservationPublic)
async def commit_reservation(reservation_id: str, batcher: Batcher, token: InventoryWrite):
    """Turn the held units into a sale (409 reservation-expired once it has lapsed)."""
    return await batcher.settle(Settlement(reservation_id, "committed", _actor(token)))


@router.post("/reservations/{reservation_id}/release", response_model=ReservationPublic)
async def release_reservation(reservation_id: str, batcher: Batcher, token: InventoryWrite):
    return await batcher.settle(Settlement(reservation_id, "released", _actor(token)))


@router.post("/reservations/{reservation_id}/extend", response_model=ReservationPublic)
def extend_reservation(
    reservation_id: str, data: ReservationExtend, session: WriteSession, _: InventoryWrite
):
    return reservations.extend(session, reservation_id, data.ttl_seconds)


@router.get("/locations", response_model=list[LocationPublic])
def list_locations(session: ReadSession, _: InventoryRead):
    return locations.list_locations(session)


@router.put("/locations/{code}", response_model=LocationPublic)
def save_location(
    code: LocationCode, data: LocationInput, session: WriteSession, _: InventoryWrite
):
    """Create or update a location; lower priority ranks ship first."""
    return locations.save_location(session, code, data)


@router.get("/channels", response_model=list[ChannelRulePublic])
def list_channel_rules(session: ReadSession, _: InventoryRead):
    return locations.channel_rules(session)


@router.put("/channels/{channel}", response_model=ChannelRulePublic)
def save_channel_rule(
    channel: ChannelKey, data: ChannelRuleInput, session: WriteSession, _: InventoryWrite
):
    """Hold back ``buffer`` units from a channel and publish at most ``cap`` there."""
    return locations.save_channel_rule(session, channel, data)
