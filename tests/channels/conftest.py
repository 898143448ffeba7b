"""Channel test helpers: catalog data, and the simulators reached in-process."""

from __future__ import annotations

import pytest

from mercato.catalog import service as catalog
from mercato.catalog.schemas import ProductCreate
from mercato.channels import service
from mercato.channels.schemas import ChannelCreate
from mercato.db import transaction
from tests.conftest import SANDBOX

GTIN = "4006381333931"


def tee(handle="tee", skus=("TEE-S", "TEE-M"), barcode=GTIN, **extra) -> dict:
    return {
        "handle": handle,
        "title": "Organic Tee",
        "description_html": "<p>Soft &amp; <b>organic</b>.</p>",
        "vendor": "Acme",
        "status": "active",
        "google_category": 212,
        "options": ["Color", "Size"],
        "gender": "unisex",
        "age_group": "adult",
        "media": [{"url": "https://cdn.example.com/tee.jpg"}],
        "variants": [
            {
                "sku": sku,
                "option_values": ["Blue", sku.rsplit("-", 1)[1]],
                "price": 2500,
                "barcode": barcode,
                "mpn": f"MPN-{sku}",
                "weight": "145",
            }
            for sku in skus
        ],
        **extra,
    }


@pytest.fixture
def make_products(sessions):
    def make(*products: dict) -> list:
        with transaction(sessions) as session:
            return [catalog.create_product(session, ProductCreate(**p)) for p in products]

    return make


CREDENTIALS = {
    "meta": {"access_token": "meta-token"},
    # An OAuth client with a refresh token; google-auth mints the access tokens.
    "google": {
        "client_id": "1234-sim.apps.googleusercontent.com",
        "client_secret": "sim-secret",
        "refresh_token": "1//sim-refresh",
        "token_uri": f"{SANDBOX}/google/token",
    },
    "tiktok": {"app_key": "29a39d", "app_secret": "e59af819cc", "access_token": "tt-token"},
    "pinterest": {"access_token": "pin-token"},
}
SETTINGS = {
    "meta": {"catalog_id": "cat1"},
    "google": {"account_id": "123", "data_source_id": "ds1"},
    "tiktok": {"category_id": "601226"},
    "pinterest": {"catalog_mode": "api"},
}


@pytest.fixture
def make_channel(sessions):
    def make(kind: str, name: str | None = None) -> str:
        with transaction(sessions) as session:
            return service.create_channel(
                session,
                ChannelCreate(
                    kind=kind,
                    name=name or kind,
                    base_url=f"{SANDBOX}/{kind}",
                    credentials=CREDENTIALS.get(kind, {}),
                    settings=SETTINGS.get(kind, {}),
                ),
            ).id

    return make
