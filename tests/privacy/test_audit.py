"""The audit log: who viewed, exported or erased a person's data, through the API and
the CLI, naming what was touched by its id only."""

from __future__ import annotations

from typer.testing import CliRunner

from mercato.cli import app
from tests.checkout.helpers import make_shop


def test_reading_an_order_or_a_request_is_logged_with_the_token(client, admin, sessions):
    make_shop(sessions)
    body = {"lines": [{"sku": "HOODIE-M", "quantity": 1}], "customer": {"email": "zq@example.org"}}
    order = client.post("/api/v1/orders", headers=admin, json=body).json()
    assert client.get(f"/api/v1/orders/{order['id']}", headers=admin).status_code == 200
    asked = {"kind": "access", "regime": "gdpr", "email": "zq@example.org"}
    request = client.post("/api/v1/privacy/requests", headers=admin, json=asked).json()
    client.get(f"/api/v1/privacy/requests/{request['id']}", headers=admin)
    client.post(f"/api/v1/privacy/requests/{request['id']}/export", headers=admin)

    log = client.get("/api/v1/privacy/audit", headers=admin).json()["items"]
    assert [(e["action"], e["subject"]) for e in log] == [
        ("exported", request["id"]),
        ("viewed", request["id"]),
        ("requested", request["id"]),
        ("viewed", order["id"]),
    ]
    assert all(e["actor"].startswith("token ") for e in log)
    assert "zq@example.org" not in str(log)
    one = client.get("/api/v1/privacy/audit", headers=admin, params={"subject": order["id"]})
    assert [e["action"] for e in one.json()["items"]] == ["viewed"]
    printed = CliRunner().invoke(app, ["privacy", "audit", "--subject", request["id"]])
    assert printed.exit_code == 0 and "exported" in printed.output and "requested" in printed.output
