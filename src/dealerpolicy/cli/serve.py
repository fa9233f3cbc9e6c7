"""`dealerpolicy serve` (placeholder; the HTTP issue fills it in)."""

import click


@click.command()
def serve() -> None:
    """Run the HTTP API."""
    raise click.ClickException("not implemented yet")
