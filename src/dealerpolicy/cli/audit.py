"""`dealerpolicy audit …` (placeholder; the audit issue fills it in)."""

import click


@click.group()
def audit() -> None:
    """Query and verify the decision log."""
