"""Request parts read on the event loop, so that the handler itself can be a plain
``def`` run in the thread pool (it does blocking database or provider work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from mercato.errors import PayloadTooLarge


async def _form(request: Request) -> FormData:
    return await request.form()


async def _body(request: Request) -> bytes:
    return await request.body()


async def body_of_at_most(request: Request, most: int) -> bytes:
    """The raw body, refused (413) as soon as it is known to be longer than ``most``
    bytes: a platform's webhook is read whole only when it is of a sane size."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        PayloadTooLarge.check(int(declared), most)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        PayloadTooLarge.check(size, most)
        chunks.append(chunk)
    return b"".join(chunks)


PostedForm = Annotated[FormData, Depends(_form)]
RawBody = Annotated[bytes, Depends(_body)]
