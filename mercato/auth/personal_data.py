"""The personal data of API tokens (see ``mercato.personal``)."""

from mercato.personal import NotPersonal

TABLES = (
    NotPersonal("api_tokens", "the merchant's tokens, named by the merchant", ("name", "scopes")),
)
