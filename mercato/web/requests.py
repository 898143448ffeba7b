"""Request parts read on the event loop, so that the handler itself can be a plain
``def`` run in the thread pool (it does blocking database or provider work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def _form(request: Request) -> FormData:
    return await request.form()


async def _body(request: Request) -> bytes:
    return await request.body()


PostedForm = Annotated[FormData, Depends(_form)]
RawBody = Annotated[bytes, Depends(_body)]
