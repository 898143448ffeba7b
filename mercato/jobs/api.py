from typing import Annotated, Literal

from fastapi import APIRouter, Query

from mercato.jobs import service
from mercato.jobs.auth import JobsAdmin
from mercato.jobs.schemas import JobPage, JobPublic
from mercato.web.sessions import ReadSession, WriteSession

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobPage)
def list_jobs(
    session: ReadSession,
    _: JobsAdmin,
    state: Literal["queued", "running", "succeeded", "dead"] | None = Query(
        None, description="`dead`: every attempt failed (the dead-letter list)"
    ),
    name: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE_SIZE)] = 50,
):
    return service.list_jobs(session, state, name, cursor, limit)


@router.get("/jobs/{job_id}", response_model=JobPublic)
def get_job(job_id: str, session: ReadSession, _: JobsAdmin):
    return service.get_job(session, job_id)


@router.post("/jobs/{job_id}/retry", response_model=JobPublic)
def retry_job(job_id: str, session: WriteSession, _: JobsAdmin):
    """Queue a dead job again with a fresh set of attempts."""
    return service.retry_job(session, job_id)
