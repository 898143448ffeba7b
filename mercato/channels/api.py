import tempfile
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from mercato.channels import check, feed_rules, feeds, inclusion, service, setup, sync
from mercato.channels import markets as channel_markets
from mercato.channels.auth import ChannelsRead, ChannelsWrite
from mercato.channels.schemas import (
    ChannelCreate,
    ChannelList,
    ChannelMarketSet,
    ChannelPublic,
    ChannelRemoved,
    ChannelUpdate,
    ExclusionList,
    FeedPreview,
    FeedPreviewRequest,
    FeedRulesPublic,
    FeedRulesUpdate,
    FeedTokenPublic,
    InclusionResult,
    InclusionUpdate,
    ListingPage,
    MarketVerdictPublic,
    PublishRequest,
    PublishResult,
    Verdict,
)
from mercato.channels.target import Target
from mercato.web.sessions import ReadSession, SessionFactories, WriteSession

router = APIRouter(prefix="/channels", tags=["channels"])


@router.get("", response_model=ChannelList)
def list_channels(session: ReadSession, _: ChannelsRead, removed: bool = False):
    """Connected channels (with `removed`, the removed ones too)."""
    return ChannelList(
        items=[service.to_public(c) for c in service.list_channels(session, removed=removed)]
    )


@router.post("", response_model=ChannelPublic, status_code=status.HTTP_201_CREATED)
def create_channel(
    data: ChannelCreate,
    sessions: SessionFactories,
    _: ChannelsWrite,
    verify: Annotated[bool, Query(description="Call the platform once with the settings")] = True,
):
    """Connect a channel: its required settings are checked and the platform is called once
    with them; nothing is stored when either fails."""
    connected = setup.connect(sessions.write, data, check_with_platform=verify)
    return service.to_public(connected.channel)


@router.get("/markets", response_model=list[MarketVerdictPublic])
def market_verdicts(session: ReadSession, _: ChannelsRead, market: str | None = None):
    """Each channel set to a market (or to ``market``), its active items checked now by its
    platform's rules: the verdict per market, beside what the platform said of what was
    sent."""
    return [
        MarketVerdictPublic(**vars(v), verdict=v.verdict) for v in check.verdicts(session, market)
    ]


@router.put("/{channel_id}/market", response_model=ChannelPublic)
def set_market(
    channel_id: str, data: ChannelMarketSet, sessions: SessionFactories, _: ChannelsWrite
):
    """Sell through the channel in a market: its country, language and currency become the
    market's; its items carry the market's language and prices. A TikTok channel's market
    must sell to its shop's region (asked of TikTok), in that region's currency."""
    with sessions.read() as session:
        channel = service.get_channel(session, channel_id)
    return service.to_public(channel_markets.set_market_asking(sessions, channel.id, data.market))


@router.get("/{channel_id}", response_model=ChannelPublic)
def get_channel(channel_id: str, session: ReadSession, _: ChannelsRead):
    return service.to_public(service.get_channel(session, channel_id))


@router.patch("/{channel_id}", response_model=ChannelPublic)
def update_channel(
    channel_id: str,
    data: ChannelUpdate,
    sessions: SessionFactories,
    _: ChannelsWrite,
    verify: Annotated[bool, Query(description="Call the platform once with the change")] = True,
):
    """Change a channel; `credentials` and `settings` replace the stored ones as a whole."""
    changed = setup.change(sessions.write, channel_id, data, check_with_platform=verify)
    return service.to_public(changed.channel)


@router.delete("/{channel_id}", response_model=ChannelRemoved)
def remove_channel(
    channel_id: str,
    sessions: SessionFactories,
    _: ChannelsWrite,
    delete_items: Annotated[
        bool, Query(description="First delete the channel's items on the platform")
    ] = False,
):
    """Remove a channel: it is never synced again; its orders and listings stay."""
    removed = setup.remove(sessions, channel_id, delete_items=delete_items)
    return ChannelRemoved(
        channel=service.to_public(removed.channel), deleted_items=removed.deleted_items
    )


@router.post("/{channel_id}/feed-token", response_model=FeedTokenPublic)
def rotate_feed_token(channel_id: str, session: WriteSession, _: ChannelsWrite):
    """A new secret pull URL for the channel's feed (shown once; the old one stops working)."""
    token, url = service.rotate_feed_token(session, channel_id)
    return FeedTokenPublic(token=token, url=url)


@router.get("/{channel_id}/feed-rules", response_model=FeedRulesPublic)
def get_feed_rules(channel_id: str, session: ReadSession, _: ChannelsRead):
    """The channel's feed rules, in the order they run."""
    channel, rules = feed_rules.rules_of(session, service.get_channel(session, channel_id).id)
    return FeedRulesPublic(channel_id=channel.id, version=channel.feed_rules_version, rules=rules)


@router.put("/{channel_id}/feed-rules", response_model=FeedRulesPublic)
def save_feed_rules(
    channel_id: str, data: FeedRulesUpdate, session: WriteSession, token: ChannelsWrite
):
    """Replace the channel's feed rules; the next publish compares the whole catalog and
    sends what they changed (and the feed file shows it at once)."""
    channel = feed_rules.save(
        session, service.get_channel(session, channel_id).id, data, f"token:{token.name}"
    )
    return FeedRulesPublic(
        channel_id=channel.id, version=channel.feed_rules_version, rules=data.rules
    )


@router.post("/{channel_id}/feed-rules/preview", response_model=FeedPreview)
def preview_feed_rules(
    channel_id: str, data: FeedPreviewRequest, session: ReadSession, _: ChannelsRead
):
    """What these rules would change on the channel's items, before saving them."""
    return check.preview_rules(session, service.get_channel(session, channel_id).id, data)


@router.post("/{channel_id}/publish", response_model=PublishResult)
def publish(
    channel_id: str,
    sessions: SessionFactories,
    _: ChannelsWrite,
    data: PublishRequest | None = None,
):
    """Push what changed to the platform (or, with `dry_run`, count what would be sent)."""
    # Sync opens its own short transactions: none may be held while the platform answers.
    return sync.publish(sessions, channel_id, dry_run=bool(data and data.dry_run))


@router.get("/{channel_id}/listings", response_model=ListingPage)
def list_listings(
    channel_id: str,
    session: ReadSession,
    _: ChannelsRead,
    verdict: Verdict | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 100,
):
    return service.list_listings(
        session, channel_id, service.ListingFilters(verdict=verdict), cursor, limit
    )


@router.get("/{channel_id}/exclusions", response_model=ExclusionList)
def list_exclusions(channel_id: str, session: ReadSession, _: ChannelsRead):
    """The variants kept off the channel."""
    channel = service.get_channel(session, channel_id)
    return ExclusionList(items=inclusion.excluded_variants(session, channel.id))


@router.post("/{channel_id}/inclusion", response_model=InclusionResult)
def set_inclusion(
    channel_id: str, data: InclusionUpdate, session: WriteSession, token: ChannelsWrite
):
    """Take variants (or every variant of products) onto the channel or keep them off
    it. The next publish sends them, or deletes them from the platform."""
    channel = service.get_channel(session, channel_id)
    done = inclusion.set_included(
        session, channel.id, data.included, data.variant_ids, data.product_ids, token.name
    )
    return InclusionResult(
        channel_id=channel.id, included=data.included, selected=done.selected, changed=done.changed
    )


feeds_router = APIRouter(tags=["feeds"])


@feeds_router.get(
    "/feeds/{channel_id}/{token}.{ext}",
    response_class=StreamingResponse,
    responses={200: {"content": {t: {} for t in feeds.MEDIA_TYPES.values()}}},
)
def pull_feed(
    channel_id: str,
    token: str,
    ext: str,
    session: ReadSession,
    override: Annotated[
        str | None, Query(description="A localized channel's feed: language or country")
    ] = None,
):
    """The channel's catalog feed for the platform's scheduled fetch; the secret token in
    the path is the credential."""
    channel = service.channel_for_feed_token(session, channel_id, token)
    buffer = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    feeds.write_feed(session, Target.of(channel), buffer, ext, override)
    buffer.seek(0)
    return StreamingResponse(
        iter(lambda: buffer.read(64 * 1024), b""),
        media_type=feeds.MEDIA_TYPES[ext],
        background=BackgroundTask(buffer.close),
    )
