"""Every domain's declaration of its personal data, in one place, and the check that no
table holds a column that looks personal without saying what it is."""

from __future__ import annotations

import re

from sqlalchemy import JSON, Column, LargeBinary, MetaData, Text

from mercato.analytics import personal_data as analytics
from mercato.auth import personal_data as auth
from mercato.catalog import personal_data as catalog
from mercato.channels import personal_data as channels
from mercato.checkout import personal_data as checkout
from mercato.creators import personal_data as creators
from mercato.customers import personal_data as customers
from mercato.events import personal_data as events
from mercato.fraud import personal_data as fraud
from mercato.inbox import personal_data as inbox
from mercato.inventory import personal_data as inventory
from mercato.jobs import personal_data as jobs
from mercato.live import personal_data as live
from mercato.mail import personal_data as mail
from mercato.markets import personal_data as markets
from mercato.offers import personal_data as offers
from mercato.orders import personal_data as orders
from mercato.payments import personal_data as payments
from mercato.personal import Declaration, NotPersonal, PersonalTable
from mercato.privacy import personal_data as privacy
from mercato.recommendations import personal_data as recommendations
from mercato.segments import personal_data as segments
from mercato.system import personal_data as system
from mercato.webhooks import personal_data as webhooks

DECLARATIONS: tuple[Declaration, ...] = (
    *customers.TABLES,
    *orders.TABLES,
    *checkout.TABLES,
    *payments.TABLES,
    *inbox.TABLES,
    *analytics.TABLES,
    *events.TABLES,
    *webhooks.TABLES,
    *mail.TABLES,
    *jobs.TABLES,
    *privacy.TABLES,
    *system.TABLES,
    *auth.TABLES,
    *catalog.TABLES,
    *channels.TABLES,
    *inventory.TABLES,
    *segments.TABLES,
    *recommendations.TABLES,
    *offers.TABLES,
    *creators.TABLES,
    *markets.TABLES,
    *fraud.TABLES,
    *live.TABLES,
)
PERSONAL: dict[str, PersonalTable] = {
    d.table: d for d in DECLARATIONS if isinstance(d, PersonalTable)
}

# Words in a column's name that suggest personal data; free-form columns (JSON, text,
# bytes) may hold anything. Times and hashes never do.
_LOOKS_PERSONAL = re.compile(
    r"(^|_)(email|phone|name|address|ip|user|agent|buyer|customer|contact|visitor|author"
    r"|assignee|message|text|body|note|comment|reason|detail|error|subject|payload|content"
    r"|args|data|answer|attribution|to|from)(_|$)"
)
_NEVER = re.compile(r"_(at|hash)$")


def looks_personal(column: Column) -> bool:
    if _NEVER.search(column.name):
        return False
    free_form = (
        isinstance(column.type, JSON | LargeBinary | Text) or "JSON" in type(column.type).__name__
    )
    return free_form or bool(_LOOKS_PERSONAL.search(column.name))


def declared_columns(declaration: Declaration) -> set[str]:
    if isinstance(declaration, NotPersonal):
        return set(declaration.columns)
    return (
        set(declaration.find)
        | set(declaration.personal)
        | set(declaration.payloads)
        | set(declaration.not_personal)
    )


def problems(metadata: MetaData) -> list[str]:
    """Columns that look personal and are not declared, and declarations of nothing."""
    found = []
    by_table = {d.table: d for d in DECLARATIONS}
    for table in metadata.sorted_tables:
        declaration = by_table.get(table.name)
        declared = declared_columns(declaration) if declaration else set()
        for column in table.columns:
            if looks_personal(column) and column.name not in declared:
                found.append(f"{table.name}.{column.name} looks personal and is not declared")
        found += [
            f"{table.name}.{name} is declared but is no column"
            for name in sorted(declared - set(table.columns.keys()))
        ]
    found += [
        f"{name} is declared but is no table" for name in set(by_table) - set(metadata.tables)
    ]
    if len(by_table) != len(DECLARATIONS):
        found.append("a table is declared twice")
    return found
