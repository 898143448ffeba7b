"""Exchange rates read by the worker from a provider's URL (``MERCATO_FX_URL``): the ECB's
euro reference rates rebased on the store's dollar, the latest day of a history file, and
a refused or unreachable file changing nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.config import get_settings
from mercato.errors import ValidationFailed
from mercato.jobs import registry
from mercato.markets import fx
from tests.checkout.helpers import make_shop, start
from tests.markets.test_markets import NL, market

# The shape of https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml.
ECB_DAILY = """<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"
    xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time='2026-12-04'>
      <Cube currency='USD' rate='1.0500'/>
      <Cube currency='JPY' rate='165.00'/>
      <Cube currency='GBP' rate='0.84000'/>
    </Cube>
  </Cube>
</gesmes:Envelope>
"""


class Provider:
    """A rates provider on 127.0.0.1 answering whatever ``body`` and ``status`` are now."""

    def __init__(self) -> None:
        self.body, self.status, self.requests = ECB_DAILY, 200, 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                data = provider.body.encode()
                self.send_response(provider.status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/eurofxref-daily.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings, monkeypatch) -> Iterator[Provider]:
    found = Provider()
    monkeypatch.setenv("MERCATO_FX_URL", found.url)
    get_settings.cache_clear()
    yield found
    found.close()


def _refresh(job_context) -> None:
    registry.load_all()
    registry.TASKS["markets.refresh_fx_rates"].fn(job_context)


def test_the_worker_reads_the_ecbs_rates_and_checkouts_convert_with_them(
    provider, job_context, client, admin, sessions
):
    _refresh(job_context)
    # The ECB quotes per euro; the store counts in dollars: 1 USD = 1 / 1.05 EUR.
    assert client.get("/api/v1/fx-rates", headers=admin).json() == [
        {"currency": "EUR", "rate": "0.9523809524", "date": "2026-12-04"},
        {"currency": "GBP", "rate": "0.8", "date": "2026-12-04"},
        {"currency": "JPY", "rate": "157.1428571", "date": "2026-12-04"},
    ]
    make_shop(sessions, price=2500)
    market(client, admin, NL)
    checkout = start(client, items=(("HOODIE-S", 1),), country="NL")
    # 25.00 USD is 23.81 EUR, ending .99: 23.99, at the ECB's rate of its day.
    assert checkout["lines"][0]["unit_price"] == 2399
    assert (checkout["fx_rate"], checkout["fx_date"]) == ("0.9523809524", "2026-12-04")


def test_a_history_file_gives_its_latest_day(provider, job_context, client, admin):
    provider.body = ECB_DAILY.replace(
        "<Cube>\n    <Cube time='2026-12-04'>",
        "<Cube>\n    <Cube time='2026-12-03'><Cube currency='USD' rate='2.0'/></Cube>\n"
        "    <Cube time='2026-12-04'>",
    )
    _refresh(job_context)
    rates = {r["currency"]: r for r in client.get("/api/v1/fx-rates", headers=admin).json()}
    assert (rates["EUR"]["rate"], rates["EUR"]["date"]) == ("0.9523809524", "2026-12-04")


def test_a_refused_or_unreachable_file_changes_nothing(provider, job_context, client, admin):
    _refresh(job_context)
    before = client.get("/api/v1/fx-rates", headers=admin).json()

    provider.body = ECB_DAILY.replace("rate='0.84000'", "rate='-1'")
    with pytest.raises(ValidationFailed) as refused:
        _refresh(job_context)
    assert refused.value.errors[0].loc == ("Cube", "2026-12-04", "GBP")
    provider.body = "<html><body>Service unavailable</body></html>"
    with pytest.raises(ValidationFailed, match="no rates"):
        _refresh(job_context)
    provider.status = 503
    with pytest.raises(httpx.HTTPStatusError):
        _refresh(job_context)
    assert client.get("/api/v1/fx-rates", headers=admin).json() == before


def test_an_xml_entity_is_not_expanded(provider, job_context, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("1.5")
    provider.body = ECB_DAILY.replace(
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file://{secret}">]>',
    ).replace("rate='1.0500'", "rate='&x;'")
    with pytest.raises(ValidationFailed, match="not XML") as refused:
        _refresh(job_context)
    assert "external entity" in refused.value.errors[0].message
    assert fx.current() == {}


def test_no_url_reads_nothing_and_a_private_address_is_refused(settings, monkeypatch, sessions):
    assert fx.refresh(sessions) == {}
    monkeypatch.setenv("MERCATO_ALLOW_LOCAL_URLS", "0")
    get_settings.cache_clear()
    with pytest.raises(ValueError, match="not a public address"):
        fx.refresh(sessions, "http://169.254.169.254/rates.xml")


def test_the_cli_reads_the_provider_now(provider, sessions):
    runner = CliRunner()
    fetched = runner.invoke(cli, ["markets", "fx-fetch"])
    assert fetched.exit_code == 0, fetched.output
    assert "0.9523809524" in fetched.output and provider.requests == 1
    provider.status = 503
    failed = runner.invoke(cli, ["markets", "fx-fetch", provider.url])
    assert failed.exit_code == 1 and "503" in failed.output
    assert fx.current()["EUR"].rate == Decimal("0.9523809524")
