"""The personal data of data subject requests themselves (see ``mercato.personal``)."""

from mercato.personal import PersonalTable

TABLES = (
    PersonalTable(
        "privacy_requests",
        find={},
        erase="pseudonymise",
        # Keyed hashes: the request can still be shown to be about a person who asks again.
        personal={"subject": "hash"},
        search=("subject",),
        not_personal={"outcome": "rows per table, never their data"},
        why_kept="proof that the request was answered, and when",
    ),
)
