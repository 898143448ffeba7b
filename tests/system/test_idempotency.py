"""Idempotency-Key on POST requests: a retried request never does its work twice."""

import hashlib
import json
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from mercato.auth import service as auth_service
from mercato.catalog import service as catalog_service
from mercato.catalog.models import Product
from mercato.db import transaction, utcnow
from mercato.jobs import registry
from mercato.system import idempotency
from mercato.system.models import IdempotencyKey
from tests.checkout.helpers import make_shop


def product(handle="mug", sku="MUG-1"):
    return {"handle": handle, "title": "Mug", "variants": [{"sku": sku, "price": 900}]}


def count_products(sessions):
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Product))


def test_a_retry_with_the_same_key_replays_the_first_response(client, admin, sessions):
    headers = {**admin, "Idempotency-Key": "create-mug-1"}
    first = client.post("/api/v1/products", json=product(), headers=headers)
    again = client.post("/api/v1/products", json=product(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert count_products(sessions) == 1


def test_the_same_key_with_another_request_is_refused(client, admin, sessions):
    headers = {**admin, "Idempotency-Key": "k-2"}
    assert client.post("/api/v1/products", json=product(), headers=headers).status_code == 201
    other = client.post("/api/v1/products", json=product("cup", "CUP-1"), headers=headers)
    assert other.status_code == 422
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert count_products(sessions) == 1


def test_keys_belong_to_one_token(client, make_token, sessions):
    one = {**make_token("catalog:write"), "Idempotency-Key": "shared"}
    two = {**make_token("catalog:write"), "Idempotency-Key": "shared"}
    assert client.post("/api/v1/products", json=product(), headers=one).status_code == 201
    # Another token's identical key does not replay the first token's response.
    assert client.post("/api/v1/products", json=product(), headers=two).status_code == 409


def test_client_errors_are_replayed_too_and_server_errors_are_not_kept(client, admin):
    headers = {**admin, "Idempotency-Key": "bad-1"}
    bad = {"title": "No variants", "variants": []}
    first = client.post("/api/v1/products", json=bad, headers=headers)
    assert first.status_code == 422
    again = client.post("/api/v1/products", json=bad, headers=headers)
    assert again.status_code == 422 and again.headers["idempotent-replayed"] == "true"


def test_requests_without_a_key_are_untouched(client, admin, sessions):
    assert client.post("/api/v1/products", json=product(), headers=admin).status_code == 201
    assert client.post("/api/v1/products", json=product(), headers=admin).status_code == 409


# ---------------------------------------------------------------- callers, secrets, leases


def _start(client, key: str, cookie: str | None = None):
    headers = {"Idempotency-Key": key}
    if cookie:
        headers["cookie"] = f"mercato_csrf={cookie}"
    return client.post(
        "/api/v1/checkouts", json={"lines": [{"sku": "HOODIE-M", "quantity": 1}]}, headers=headers
    )


def test_anonymous_callers_do_not_share_keys(client, sessions):
    make_shop(sessions)
    first = _start(client, "same-key", cookie="visitor-one")
    assert first.status_code == 201
    second = _start(client, "same-key", cookie="visitor-two")
    assert second.status_code == 201 and "idempotent-replayed" not in second.headers
    assert second.json()["token"] != first.json()["token"]
    again = _start(client, "same-key", cookie="visitor-one")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["token"] == first.json()["token"]


def test_stored_responses_hold_no_readable_token(client, sessions):
    make_shop(sessions)
    token = _start(client, "k-secret", cookie="v1").json()["token"]
    with sessions() as session:
        (stored,) = session.scalars(select(IdempotencyKey))
    assert stored.status_code == 201 and stored.body
    assert token.encode() not in stored.body and b"HOODIE" not in stored.body


def test_a_retry_after_a_crash_takes_the_key_over_once_the_lease_lapses(client, admin, sessions):
    headers = {**admin, "Idempotency-Key": "crashed"}
    # A request that claimed the key and died: its claim is never finished nor renewed.
    with transaction(sessions) as session:
        session.add(
            IdempotencyKey(
                scope=hashlib.sha256(b"token:" + admin["Authorization"].encode()).hexdigest(),
                key="crashed",
                fingerprint=_fingerprint(product(), headers),
                created_at=utcnow(),
                locked_until=utcnow() + timedelta(seconds=5),
            )
        )
    busy = client.post("/api/v1/products", json=product(), headers=headers)
    assert busy.status_code == 409 and 1 <= int(busy.headers["retry-after"]) <= 5
    with transaction(sessions) as session:
        session.execute(update(IdempotencyKey).values(locked_until=utcnow() - timedelta(seconds=1)))
    retried = client.post("/api/v1/products", json=product(), headers=headers)
    assert retried.status_code == 201, retried.text
    assert count_products(sessions) == 1
    replay = client.post("/api/v1/products", json=product(), headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"


def test_a_long_request_keeps_its_claim(client, admin, sessions, monkeypatch):
    """The lease is renewed while the request runs: a retry meanwhile is refused."""
    monkeypatch.setattr(idempotency, "RENEW_EVERY", timedelta(seconds=0.05))
    monkeypatch.setattr(idempotency, "LEASE", timedelta(seconds=0.2))
    renewed = []
    original = idempotency.renew
    monkeypatch.setattr(idempotency, "renew", lambda *args: (renewed.append(1), original(*args))[1])
    slow_create = catalog_service.create_product

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return slow_create(*args, **kwargs)

    monkeypatch.setattr(catalog_service, "create_product", slow)
    headers = {**admin, "Idempotency-Key": "slow"}
    assert client.post("/api/v1/products", json=product(), headers=headers).status_code == 201
    assert len(renewed) >= 3


def test_a_request_whose_claim_cannot_be_renewed_still_answers(
    client, admin, sessions, monkeypatch
):
    """A database too busy to renew the claim does not turn finished work into a 500."""
    monkeypatch.setattr(idempotency, "RENEW_EVERY", timedelta(seconds=0.05))

    def busy(*args):
        raise TimeoutError("QueuePool limit reached")

    monkeypatch.setattr(idempotency, "renew", busy)
    slow_create = catalog_service.create_product
    monkeypatch.setattr(
        catalog_service,
        "create_product",
        lambda *args, **kwargs: (time.sleep(0.3), slow_create(*args, **kwargs))[1],
    )
    headers = {**admin, "Idempotency-Key": "busy"}
    assert client.post("/api/v1/products", json=product(), headers=headers).status_code == 201
    replay = client.post("/api/v1/products", json=product(), headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert count_products(sessions) == 1


def test_old_keys_are_pruned_by_the_periodic_job(client, admin, sessions, engine):
    registry.load_all()
    assert registry.SCHEDULES["system.prune_idempotency_keys"].interval == timedelta(hours=1)
    client.post("/api/v1/products", json=product(), headers={**admin, "Idempotency-Key": "new"})
    with transaction(sessions) as session:
        session.add(
            IdempotencyKey(
                scope="x", key="old", fingerprint="f", created_at=utcnow() - timedelta(hours=25)
            )
        )
    context = registry.JobContext("job", 1, utcnow(), sessions, sessions)
    registry.TASKS["system.prune_idempotency_keys"].fn(context)
    with sessions() as session:
        assert [k.key for k in session.scalars(select(IdempotencyKey))] == ["new"]


def _fingerprint(body: dict, headers: dict) -> str:
    raw = json.dumps(body, separators=(",", ":")).encode()
    return hashlib.sha256(
        b"\n".join([b"/api/v1/products", b"", b"application/json", raw])
    ).hexdigest()


def test_a_revoked_token_gets_no_replay(client, make_token, sessions):
    """Revocation holds for retries too: the stored answer (here a signing secret) is not
    handed to the token once it is revoked."""
    token = make_token("webhooks:write")
    headers = {**token, "Idempotency-Key": "endpoint-1"}
    body = {"url": "http://127.0.0.1:9/hooks"}
    first = client.post("/api/v1/webhooks/endpoints", json=body, headers=headers)
    assert first.status_code == 201 and first.json()["secret"]
    with transaction(sessions) as session:
        [revoked] = auth_service.list_tokens(session)
        auth_service.revoke_token(session, revoked.id)
    again = client.post("/api/v1/webhooks/endpoints", json=body, headers=headers)
    assert again.status_code == 401 and "secret" not in again.json()
    assert "idempotent-replayed" not in again.headers
    forged = {"Authorization": "Bearer mct_not-a-token", "Idempotency-Key": "endpoint-1"}
    assert client.post("/api/v1/webhooks/endpoints", json=body, headers=forged).status_code == 401


def test_keyed_requests_arriving_together_each_run_once_and_replay_their_own_answer(
    live_server, admin, sessions
):
    import asyncio

    import httpx

    async def create(client, index: int, key: str):
        return await client.post(
            "/api/v1/products",
            json=product(f"mug-{index}", f"MUG-{index}"),
            headers={**admin, "Idempotency-Key": key},
        )

    async def burst():
        async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
            # 24 keys at once, one of them sent twice at the same moment.
            first = await asyncio.gather(
                *(create(client, i, f"burst-{i}") for i in range(24)), create(client, 0, "burst-0")
            )
            again = await asyncio.gather(*(create(client, i, f"burst-{i}") for i in range(24)))
            return first, again

    first, again = asyncio.run(burst())
    assert count_products(sessions) == 24  # the twin of burst-0 ran nothing
    # Of the two burst-0 requests one ran; the other was told it runs (409) or, come
    # after it finished, got its answer replayed.
    twins = [first[0], first[24]]
    [ran] = [r for r in twins if r.status_code == 201 and "idempotent-replayed" not in r.headers]
    [other] = [r for r in twins if r is not ran]
    assert other.status_code == 409 or other.json() == ran.json()
    for before, replayed in zip([ran, *first[1:24]], again, strict=True):
        assert replayed.status_code == 201 and replayed.json() == before.json()
        assert replayed.headers["idempotent-replayed"] == "true"
    with sessions() as session:
        kept = session.scalars(select(IdempotencyKey)).all()
    assert len(kept) == 24 and all(k.completed_at and k.status_code == 201 for k in kept)
