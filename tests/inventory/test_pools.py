"""Ring-fenced stock: each channel sells from its own pool, is pushed its pool, and the
pools never fence more than is on hand and not held, even under concurrent moves and
sales from several processes."""

from __future__ import annotations

import multiprocessing
import random
import traceback
from collections import Counter

import pytest
from sqlalchemy import func, select

from mercato.config import Settings
from mercato.db import create_db_engine, make_sessionmaker, transaction
from mercato.inventory import availability, counts, pools, reservations
from mercato.inventory.models import ChannelPool, PoolMove, StockLevel
from mercato.inventory.schemas import AdjustmentCreate, ReservationLineInput
from tests.inventory.conftest import assert_ledger_balances, make_variants

TIKTOK = "chn_tiktok"


@pytest.fixture
def pair(sessions) -> str:
    variant_id = make_variants(sessions, "PAIR-42", handle="pair")["PAIR-42"]
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="PAIR-42", quantity=100))
    return variant_id


def _fence(sessions, variant_id, plan):
    with transaction(sessions) as session:
        return pools.fence(session, variant_id, plan, source="lev_test", actor="merchant")


def _buy(sessions, channel, quantity=1, *, sell=True):
    with transaction(sessions) as session:
        return reservations.reserve(
            session,
            [ReservationLineInput(sku="PAIR-42", quantity=quantity)],
            channel=channel,
            sell=sell,
        )


def _published(sessions, channel, variant_id):
    with sessions() as session:
        return availability.available_for(session, channel, variant_id)


def test_each_channel_is_pushed_its_pool_and_others_nothing(sessions, pair):
    state = _fence(sessions, pair, {TIKTOK: 40, "storefront": 50})
    assert (state.free, state.fenced, state.held_back) == (100, 90, 10)
    assert _published(sessions, TIKTOK, pair) == 40
    assert _published(sessions, "storefront", pair) == 50
    assert _published(sessions, "chn_instagram", pair) == 0
    with sessions() as session:
        moves = session.execute(
            select(PoolMove.from_channel, PoolMove.to_channel, PoolMove.quantity).order_by(
                PoolMove.to_channel
            )
        ).all()
    assert sorted(moves) == [(None, "chn_tiktok", 40), (None, "storefront", 50)]


def test_pools_never_fence_more_than_is_free(sessions, pair):
    _fence(sessions, pair, {TIKTOK: 40, "storefront": 50})
    with pytest.raises(availability.InsufficientStock):
        _fence(sessions, pair, {TIKTOK: 51})
    with pytest.raises(availability.InsufficientStock), transaction(sessions) as session:
        pools.move(session, pair, None, TIKTOK, 11)
    # Shrinking one pool first lets another grow in the same call.
    state = _fence(sessions, pair, {TIKTOK: 60, "storefront": 30})
    assert (state.pools[TIKTOK].units, state.pools["storefront"].units, state.held_back) == (
        60,
        30,
        10,
    )


def test_a_channel_sells_only_from_its_pool(sessions, pair):
    _fence(sessions, pair, {TIKTOK: 2, "storefront": 1})
    _buy(sessions, TIKTOK, 2)
    with pytest.raises(availability.InsufficientStock) as refused:
        _buy(sessions, TIKTOK)  # 98 on hand, but TikTok's pool is sold out
    assert refused.value.extra["channel"] == TIKTOK
    with pytest.raises(availability.InsufficientStock):
        _buy(sessions, "chn_instagram")  # no pool: the variant is ring-fenced
    held = _buy(sessions, "storefront", sell=False)
    assert _published(sessions, "storefront", pair) == 0
    with transaction(sessions) as session:
        reservations.release(session, held.id)
    assert _published(sessions, "storefront", pair) == 1  # back in its pool
    held = _buy(sessions, "storefront", sell=False)
    with transaction(sessions) as session:
        reservations.commit(session, held.id)
    with sessions() as session:
        state = pools.pools_of(session, pair)
    assert {ch: (p.units, p.held, p.sold) for ch, p in state.pools.items()} == {
        TIKTOK: (0, 0, 2),
        "storefront": (0, 0, 1),
    }
    assert state.free == 97
    assert_ledger_balances(sessions)


def test_unsold_units_move_between_pools_and_rebalance_by_sales(sessions, pair):
    _fence(sessions, pair, {TIKTOK: 10, "storefront": 10})
    with transaction(sessions) as session:
        pools.move(session, pair, "storefront", TIKTOK, 5, actor="merchant", reason="hot")
    assert _published(sessions, TIKTOK, pair) == 15
    _buy(sessions, TIKTOK, 3)
    _buy(sessions, "storefront", 1)
    with transaction(sessions) as session:
        state = pools.rebalance(session, pair)
    # 12 + 4 unsold and 80 held back are spread 3:1 by what each sold.
    assert state.pools[TIKTOK].units == 72 and state.pools["storefront"].units == 24
    assert state.held_back == 0


def test_a_count_below_the_pools_shrinks_them(sessions, pair):
    _fence(sessions, pair, {TIKTOK: 40, "storefront": 50})
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="PAIR-42", quantity=-30, reason="damaged"))
    with sessions() as session:
        state = pools.pools_of(session, pair)
    assert state.free == 70 and state.fenced == 70


def test_letting_pools_go_gives_every_channel_the_stock_again(sessions, pair):
    _fence(sessions, pair, {TIKTOK: 40, "storefront": 50})
    _buy(sessions, TIKTOK, 4)
    with transaction(sessions) as session:
        before = pools.dissolve(session, [pair], reason="event ended")
    assert before[pair][TIKTOK].sold == 4
    assert _published(sessions, "chn_instagram", pair) == 96


# ---------------------------------------------------------------- concurrency

STOCK = 60
WORKERS = 4
ROUNDS = 40
CHANNELS = (TIKTOK, "storefront", "chn_instagram")


def _worker(url: str, data_dir: str, seed: int, start, results) -> None:
    """Sells (held then committed or released, or at once) on a random channel, or
    moves units between random pools (and held back), or shrinks a pool."""
    engine = create_db_engine(Settings(database_url=url, data_dir=data_dir), url=url)
    sessions = make_sessionmaker(engine)
    rng = random.Random(seed)
    sold: Counter[str] = Counter()
    errors: list[str] = []
    try:
        start.wait(timeout=60)
        variant_id = None
        with sessions() as session:
            variant_id = session.scalar(select(StockLevel.variant_id))
        for _ in range(ROUNDS):
            action = rng.choice(("sell", "sell", "hold", "move", "fence"))
            channel = rng.choice(CHANNELS)
            try:
                with transaction(sessions) as session:
                    if action in ("sell", "hold"):
                        view = reservations.reserve(
                            session,
                            [
                                ReservationLineInput(
                                    variant_id=variant_id, quantity=rng.choice((1, 2))
                                )
                            ],
                            channel=channel,
                            sell=action == "sell",
                        )
                    elif action == "move":
                        source = rng.choice((*CHANNELS, None))
                        target = rng.choice([c for c in (*CHANNELS, None) if c != source])
                        pools.move(session, variant_id, source, target, rng.randint(1, 8))
                    else:
                        pools.fence(session, variant_id, {channel: rng.randint(0, 30)})
                if action == "sell":
                    sold[channel] += sum(ln.quantity for ln in view.lines)
                elif action == "hold":
                    with transaction(sessions) as session:
                        if rng.random() < 0.5:
                            reservations.commit(session, view.id)
                            sold[channel] += sum(ln.quantity for ln in view.lines)
                        else:
                            reservations.release(session, view.id)
            except availability.InsufficientStock:
                pass
    except Exception:  # noqa: BLE001 - every error fails the test, with its trace
        errors.append(traceback.format_exc())
    finally:
        engine.dispose()
        results.put((dict(sold), errors))


def _fenced_within_free(session) -> tuple[int, int]:
    """Units fenced and free, in one statement (one snapshot of the database)."""
    fenced = select(func.coalesce(func.sum(ChannelPool.units), 0)).scalar_subquery()
    free = select(
        func.coalesce(func.sum(StockLevel.on_hand - StockLevel.reserved), 0)
    ).scalar_subquery()
    return tuple(session.execute(select(fenced, free)).one())


@pytest.mark.slow
def test_concurrent_moves_and_sales_never_fence_more_than_is_on_hand(
    engine, sessions, database_url, tmp_path
):
    variant_id = make_variants(sessions, "DROP-P", handle="drop-p")["DROP-P"]
    with transaction(sessions) as session:
        counts.adjust(session, AdjustmentCreate(sku="DROP-P", quantity=STOCK))
        pools.fence(session, variant_id, {TIKTOK: 25, "storefront": 25})
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    start, results = context.Barrier(WORKERS + 1), context.Queue()
    workers = [
        context.Process(target=_worker, args=(database_url, str(tmp_path), seed, start, results))
        for seed in range(WORKERS)
    ]
    for process in workers:
        process.start()
    start.wait(timeout=60)
    samples = []
    while any(p.is_alive() for p in workers) and len(samples) < 500:
        with sessions() as session:
            samples.append(_fenced_within_free(session))
    outcomes = [results.get(timeout=240) for _ in workers]
    for process in workers:
        process.join(timeout=30)
    errors = [error for _, errs in outcomes for error in errs]
    assert errors == [], errors[0]
    assert all(fenced <= free for fenced, free in samples), [s for s in samples if s[0] > s[1]][:3]
    sold = sum((Counter(s) for s, _ in outcomes), Counter())
    with sessions() as session:
        fenced, free = _fenced_within_free(session)
        on_hand = session.scalar(select(func.sum(StockLevel.on_hand)))
        by_channel = dict(session.execute(select(ChannelPool.channel, ChannelPool.sold)).all())
        assert session.scalar(select(func.sum(StockLevel.reserved))) == 0
    assert fenced <= free == on_hand
    assert sum(sold.values()) == STOCK - on_hand
    # Every sale was taken from the buying channel's pool, and counted there.
    assert {ch: n for ch, n in by_channel.items() if n} == {ch: n for ch, n in sold.items() if n}
    assert_ledger_balances(sessions)


def test_the_stock_report_shows_a_ruled_channel_its_pool(sessions, pair):
    from mercato.inventory import locations, reports
    from mercato.inventory.schemas import ChannelRuleInput

    with transaction(sessions) as session:
        locations.save_channel_rule(session, TIKTOK, ChannelRuleInput(buffer=0, cap=None))
    _fence(sessions, pair, {TIKTOK: 40, "storefront": 50})
    with sessions() as session:
        view = reports.inventory_by_sku(session, "PAIR-42")
    assert [(c.channel, c.available) for c in view.channels] == [(TIKTOK, 40)]
