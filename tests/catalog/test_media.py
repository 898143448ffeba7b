"""A product's images by the API: uploaded (checked by content and size), served, put in
order, described, shown for a variant, removed; each change re-checked on every channel."""

from __future__ import annotations

import io
from datetime import timedelta

from alembic import command
from PIL import Image
from sqlalchemy import select, text

from mercato.catalog import media
from mercato.catalog import service as catalog
from mercato.catalog.models import Media, MediaFile
from mercato.catalog.schemas import ProductCreate
from mercato.config import get_settings
from mercato.db import make_sessionmaker, transaction
from mercato.events.models import Event
from mercato.system.migrations import alembic_config
from tests.channels.test_meta_graph_version import fresh_engine  # noqa: F401
from tests.helpers import tee

PROBLEM = "application/problem+json"


def png(color=(200, 30, 30), size=(120, 90), kind="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, kind)
    return out.getvalue()


def upload(client, admin, product_id, data, name="photo.png", **form):
    return client.post(
        f"/api/v1/products/{product_id}/media",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=admin,
    )


def test_an_upload_is_served_and_becomes_the_products_last_image(client, admin, make_products):
    [product] = make_products(tee())
    data = png()
    response = upload(client, admin, product.id, data, alt="Red tee, front")
    assert response.status_code == 201, response.text
    image = response.json()
    assert image["alt"] == "Red tee, front" and image["position"] == 2
    assert image["url"].endswith(".png") and "/media/" in image["url"]
    served = client.get(image["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert served.status_code == 200
    assert served.content == data and served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert [m["url"] for m in body["media"]][-1] == image["url"]


def test_a_jpeg_under_another_name_is_taken_by_its_content(client, admin, make_products):
    [product] = make_products(tee())
    response = upload(client, admin, product.id, png(kind="JPEG"), name="photo.png")
    assert response.status_code == 201, response.text
    assert response.json()["url"].endswith(".jpg")


def last_event(sessions):
    with sessions() as session:
        return session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1))


def test_what_is_not_an_image_or_too_large_is_refused_and_nothing_changes(
    client, admin, make_products, sessions
):
    [product] = make_products(tee())
    before = last_event(sessions)
    fake = upload(client, admin, product.id, b"<?php echo 1; ?>", name="tee.jpg")
    assert fake.status_code == 422 and fake.headers["content-type"] == PROBLEM
    assert fake.json()["errors"][0]["loc"] == ["file"]
    assert "not an image" in fake.json()["errors"][0]["message"]
    cut = upload(client, admin, product.id, png()[:60])
    assert cut.status_code == 422
    big = upload(client, admin, product.id, b"\x89PNG" + b"0" * media.MAX_BYTES)
    assert big.status_code == 422 and "at most 5 MB" in big.json()["errors"][0]["message"]
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, "BMP")
    assert (
        "BMP images are not taken"
        in upload(client, admin, product.id, bmp.getvalue()).json()["errors"][0]["message"]
    )
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert len(body["media"]) == 1
    assert last_event(sessions) == before


def test_the_same_image_twice_on_a_product_is_refused(client, admin, make_products):
    [product] = make_products(tee())
    assert upload(client, admin, product.id, png()).status_code == 201
    again = upload(client, admin, product.id, png())
    assert again.status_code == 422
    assert "already has this image" in again.json()["errors"][0]["message"]


def test_reorder_alt_text_and_variant_image(client, admin, make_products):
    [product] = make_products(tee())
    first = product.media[0].id
    new = upload(client, admin, product.id, png()).json()
    variant = product.variants[1].id
    path = f"/api/v1/products/{product.id}/media/{new['id']}"
    response = client.patch(
        path,
        json={"position": 1, "alt": "Back view", "variant_ids": [variant]},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    assert response.json()["position"] == 1 and response.json()["alt"] == "Back view"
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert [m["id"] for m in body["media"]] == [new["id"], first]  # ids kept
    images = {v["id"]: v["image_id"] for v in body["variants"]}
    assert images[variant] == new["id"] and images[product.variants[0].id] is None
    # Alt text removed; the variant shown no image.
    client.patch(path, json={"alt": None, "variant_ids": []}, headers=admin)
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert body["media"][0]["alt"] is None
    assert all(v["image_id"] is None for v in body["variants"])
    wrong = client.patch(path, json={"variant_ids": ["var_nope"]}, headers=admin)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["loc"] == ["variant_ids"]
    assert client.patch(path, json={"position": 0}, headers=admin).status_code == 422


def test_removing_an_image_takes_it_off_its_variants(client, admin, make_products):
    [product] = make_products(tee())
    new = upload(client, admin, product.id, png(), variant_ids=[product.variants[0].id]).json()
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert body["variants"][0]["image_id"] == new["id"]
    path = f"/api/v1/products/{product.id}/media/{new['id']}"
    assert client.delete(path, headers=admin).status_code == 204
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    assert [m["id"] for m in body["media"]] == [product.media[0].id]
    assert body["variants"][0]["image_id"] is None
    assert client.delete(path, headers=admin).status_code == 404
    assert client.get("/media/" + "0" * 64 + ".png").status_code == 404


def test_an_image_change_is_one_product_update_for_the_channels(
    client, admin, make_products, sessions
):
    [product] = make_products(tee())
    upload(client, admin, product.id, png())
    with sessions() as session:
        updates = session.scalars(
            select(Event).where(Event.type == "product.updated", Event.key == product.id)
        ).all()
    assert len(updates) == 1
    assert sorted(updates[0].payload["variant_ids"]) == sorted(v.id for v in product.variants)


def test_an_image_no_product_shows_is_deleted_after_a_week(
    client, admin, make_products, sessions, drain, clock
):
    first, second = make_products(tee(), tee(handle="tee-2", skus=("TWO-S",), barcode=None))
    shared, alone = png((1, 2, 3)), png((4, 5, 6))
    kept = upload(client, admin, first.id, shared).json()
    upload(client, admin, second.id, shared)  # the same bytes: one file, shown twice
    gone = upload(client, admin, first.id, alone).json()
    for image in (kept, gone):
        path = f"/api/v1/products/{first.id}/media/{image['id']}"
        assert client.delete(path, headers=admin).status_code == 204

    def served(image) -> int:
        return client.get("/media/" + image["url"].rpartition("/media/")[2]).status_code

    drain()  # the daily run: a removed image stays the week
    assert served(kept) == served(gone) == 200
    clock.offset += timedelta(days=8)
    drain()
    # The image the second product still shows stays; the other went.
    assert (served(kept), served(gone)) == (200, 404)


def test_uploads_move_with_the_shops_address(
    client, admin, make_products, sessions, settings, monkeypatch
):
    [product] = make_products(tee())
    base = settings.base_url.rstrip("/")
    image = upload(client, admin, product.id, png((7, 8, 9))).json()
    path = "/media/" + image["url"].rpartition("/media/")[2]
    assert image["url"] == base + path
    with sessions() as session:
        stored = session.execute(text("SELECT url FROM media WHERE id = :id"), {"id": image["id"]})
        assert stored.scalar() == path  # kept as its path
    # The shop moves from the laptop to its domain: its uploads are shown from there, and
    # a saved product keeps them as uploads (the address given is the new one).
    monkeypatch.setenv("MERCATO_BASE_URL", "https://shop.example.com")
    get_settings.cache_clear()
    body = client.get(f"/api/v1/products/{product.id}", headers=admin).json()
    urls = [m["url"] for m in body["media"]]
    assert urls == ["https://cdn.example.com/tee.jpg", "https://shop.example.com" + path]
    saved = client.patch(
        f"/api/v1/products/{product.id}",
        json={"media": [{"url": m["url"], "alt": m["alt"]} for m in body["media"]]},
        headers=admin,
    )
    assert saved.status_code == 200, saved.text
    with sessions() as session:
        assert sorted(session.scalars(text("SELECT url FROM media"))) == [
            path,
            "https://cdn.example.com/tee.jpg",
        ]


def test_uploads_stored_as_addresses_become_paths_in_migration_0161(fresh_engine):  # noqa: F811
    """Before 0161 an upload was stored under the base URL of its day: the migration keeps
    its path; any other address (another site's, even one with /media/ in it) stays."""
    config = alembic_config(fresh_engine)
    command.upgrade(config, "heads")
    sha = "ab" * 32
    old = {
        "upload": f"http://laptop.local:8000/media/{sha}.png",
        "cdn": "https://cdn.example.com/tee.jpg",
        "elsewhere": f"https://other.example/media/{'cd' * 32}.png",
    }
    with transaction(make_sessionmaker(fresh_engine)) as session:
        product = catalog.create_product(session, ProductCreate(**tee(media=[])))
        session.add(
            MediaFile(
                id=sha,
                content_type="image/png",
                extension="png",
                width=1,
                height=1,
                size=1,
                content=b"x",
            )
        )
        for position, name in enumerate(old):
            session.add(Media(id=name, product_id=product.id, url="x", position=position))
    command.downgrade(config, "0160")
    with fresh_engine.begin() as connection:
        for name, url in old.items():
            connection.execute(
                text("UPDATE media SET url = :url WHERE id = :id"), {"url": url, "id": name}
            )
    command.upgrade(config, "heads")
    with fresh_engine.connect() as connection:
        found = dict(connection.execute(text("SELECT id, url FROM media")).all())
    assert found == {**old, "upload": f"/media/{sha}.png"}
