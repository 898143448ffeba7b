"""The personal data of background jobs (see ``mercato.personal``)."""

from mercato.personal import NotPersonal, PersonalTable

TABLES = (
    PersonalTable(
        "jobs",
        find={},
        erase="pseudonymise",
        payloads=("args", "last_error"),
        search=("args",),
        not_personal={"name": "the job function's name"},
        why_kept="a queued job still runs (without the erased values); a finished one is history",
    ),
    NotPersonal("job_schedules", "when periodic jobs run", ("name",)),
)
