"""Markets' work for the worker: exchange rates read again from the configured provider."""

from mercato.jobs import registry
from mercato.markets import fx


@registry.task("markets.refresh_fx_rates", every="6 hours")
def refresh_fx_rates(ctx: registry.JobContext) -> None:
    """``MERCATO_FX_URL``'s rates (the ECB publishes once a working day, about 16:00
    CET); unset: nothing. A refused or unreachable file fails the run and changes nothing."""
    fx.refresh(ctx.sessions)
