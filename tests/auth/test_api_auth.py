import pytest

from mercato.auth import service
from mercato.db import transaction
from mercato.errors import ValidationFailed

PROBLEM = "application/problem+json"


def test_no_token_is_401_problem(client):
    response = client.get("/api/v1/products")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == "/problems/unauthorized"
    assert body["status"] == 401 and "Bearer" in body["detail"]
    assert response.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(client):
    response = client.get("/api/v1/products", headers={"Authorization": "Bearer mct_nope"})
    assert response.status_code == 401


def test_wrong_scope_is_403_naming_the_scope(client, make_token):
    headers = make_token("orders:read")
    response = client.get("/api/v1/products", headers=headers)
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "/problems/forbidden"
    assert response.json()["required_scope"] == "catalog:read"


def test_read_scope_cannot_write(client, make_token):
    response = client.post("/api/v1/products", headers=make_token("catalog:read"), json={})
    assert response.status_code == 403


def test_write_scope_includes_read_and_admin_includes_all(client, make_token):
    assert client.get("/api/v1/products", headers=make_token("catalog:write")).status_code == 200
    assert client.get("/api/v1/products", headers=make_token("admin")).status_code == 200


def test_revoked_token_stops_working(client, sessions):
    with transaction(sessions) as session:
        new = service.create_token(session, "ci", ["catalog:read"])
    headers = {"Authorization": f"Bearer {new.secret}"}
    assert client.get("/api/v1/products", headers=headers).status_code == 200
    with transaction(sessions) as session:
        service.revoke_token(session, new.token.id)
    assert client.get("/api/v1/products", headers=headers).status_code == 401


def test_tokens_are_stored_hashed_and_record_last_use(client, sessions):
    with transaction(sessions) as session:
        new = service.create_token(session, "ci", ["catalog:read"])
    with sessions() as session:
        stored = service.list_tokens(session)[0]
        assert new.secret not in (stored.token_hash, stored.prefix)
        assert stored.token_hash == service.hash_token(new.secret)
        assert stored.last_used_at is None
    client.get("/api/v1/products", headers={"Authorization": f"Bearer {new.secret}"})
    with sessions() as session:
        assert service.list_tokens(session)[0].last_used_at is not None


def test_unknown_scope_is_refused(sessions):
    with pytest.raises(ValidationFailed) as failure, transaction(sessions) as session:
        service.create_token(session, "x", ["catalog:read", "everything"])
    assert "everything" in failure.value.errors[0].message
