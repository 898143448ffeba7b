"""Images a platform keeps its own copies of (TikTok Shop takes only URIs from its upload
API): each image is uploaded once per channel, and its URI is found again by the image's
URL, or by its content when the same bytes come under another URL.

Each lookup and each record is its own short transaction; the download and the upload
happen with none open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mercato.channels import http as channel_http
from mercato.channels.http import ImageUnavailable
from mercato.channels.models import ImageUpload
from mercato.config import get_settings
from mercato.db import new_id, transaction, utcnow
from mercato.inserts import insert_or_ignore

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # TikTok's limit (PLATFORMS.md §3.5)
# upload(image bytes, file name) -> (uri, url) as the platform answered.

Upload = Callable[[bytes, str], tuple[str, str | None]]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_image(url: str) -> bytes:
    """The image's bytes, from its URL (or from MERCATO_MEDIA_ORIGIN, when set)."""
    parts = urlsplit(url)
    origin = get_settings().media_origin
    base = origin.rstrip("/") if origin else f"{parts.scheme}://{parts.netloc}"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with channel_http.open_client(base) as client:
        response = channel_http.send(client, "GET", base + path)
    if response.status_code != 200:
        raise ImageUnavailable(f"image {url}: HTTP {response.status_code} when fetching it")
    if len(response.content) > MAX_IMAGE_BYTES:
        raise ImageUnavailable(f"image {url} is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
    return response.content


class ImageUploads:
    """One channel's uploaded images."""

    def __init__(self, sessions: sessionmaker[Session], channel_id: str, fetch=fetch_image):
        self.sessions = sessions
        self.channel_id = channel_id
        self.fetch = fetch

    def uri_for(self, url: str, upload: Upload) -> str:
        """The platform's URI for the image at ``url``: recorded, or uploaded now."""
        url_hash = _sha(url.encode())
        with self.sessions() as session:
            known = session.scalar(
                select(ImageUpload.uri).where(
                    ImageUpload.channel_id == self.channel_id,
                    ImageUpload.source_url_hash == url_hash,
                )
            )
        if known:
            return known
        data = self.fetch(url)
        content_hash = _sha(data)
        with self.sessions() as session:
            same = session.execute(
                select(ImageUpload.uri, ImageUpload.url)
                .where(
                    ImageUpload.channel_id == self.channel_id,
                    ImageUpload.content_hash == content_hash,
                )
                .limit(1)
            ).first()
        uri, hosted = same if same else upload(data, urlsplit(url).path.rsplit("/", 1)[-1])
        self._record(url, url_hash, content_hash, uri, hosted)
        return uri

    def _record(self, url, url_hash, content_hash, uri, hosted) -> None:
        with transaction(self.sessions) as session:
            # Another run may have recorded the same URL meanwhile: the first one stays.
            session.execute(
                insert_or_ignore(session, ImageUpload).values(
                    id=new_id("img"),
                    channel_id=self.channel_id,
                    source_url_hash=url_hash,
                    content_hash=content_hash,
                    source_url=url,
                    uri=uri,
                    url=hosted,
                    created_at=utcnow(),
                )
            )
