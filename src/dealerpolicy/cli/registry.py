"""`dealerpolicy registry …` and `dealerpolicy incidents …` (placeholder)."""

import click


@click.group()
def registry() -> None:
    """Dealer master data and history."""


@click.group()
def incidents() -> None:
    """Confirm 窜货 decisions into the dealer's history."""
