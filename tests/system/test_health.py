from sqlalchemy import text

from mercato.system import migrations


def test_healthz_answers_without_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_ready_when_migrations_are_current(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


def test_readyz_reports_pending_migrations(client, engine):
    applied = migrations.current_revisions(engine)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["migrations"] == "pending"
    finally:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
            for revision in applied:
                connection.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    assert client.get("/readyz").status_code == 200


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/products" in spec["paths"]
    assert client.get("/docs").status_code == 200
