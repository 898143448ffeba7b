"""Inventory: one stock ledger per variant and location, expiring reservations, and the
availability each channel may publish.

The services, each importing only those above it (DESIGN.md, "Stock is guarded by the
database"):

- ``queries``: the statements the hot paths run, built once;
- ``availability``: stock levels as read, what each channel may publish;
- ``ledger``: movements, and ``inventory.changed`` for every change;
- ``locations``: locations, the default one, and channel buffers and caps;
- ``counts``: on-hand counts and adjustments;
- ``allocation``: where a reservation's units come from, held under the guard;
- ``reservations``: reserve, commit, release, extend, expire;
- ``reports``: a SKU's stock, holds and movements, the ledger check.

Services flush but never commit: the caller owns the transaction.
"""
