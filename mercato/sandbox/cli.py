"""`mercato sandbox serve`: every platform simulator on one local port."""

from __future__ import annotations

import typer

sandbox_app = typer.Typer(help="Local platform simulators.", no_args_is_help=True)


@sandbox_app.command("serve")
def serve(port: int = 8100):
    """Serve the simulators on 127.0.0.1 (e.g. http://127.0.0.1:8100/meta)."""
    import uvicorn

    from mercato.sandbox.app import create_app

    typer.echo(f"Simulators on http://127.0.0.1:{port}/{{meta,google,tiktok,pinterest}}")
    uvicorn.run(create_app(), host="127.0.0.1", port=port)
