"""The `dealerpolicy` command: a click group; each family of commands lives in its own module."""

from __future__ import annotations

import click

from dealerpolicy.cli import audit as audit_cmds
from dealerpolicy.cli import decide as decide_cmds
from dealerpolicy.cli import registry as registry_cmds
from dealerpolicy.cli import rules as rules_cmds
from dealerpolicy.cli import serve as serve_cmds
from dealerpolicy.cli import testing as testing_cmds


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dealerpolicy")
def cli() -> None:
    """dealerpolicy — dealer policies as YAML rules, explained and audited decisions."""


cli.add_command(rules_cmds.validate)
cli.add_command(rules_cmds.schema)
cli.add_command(decide_cmds.check)
cli.add_command(decide_cmds.explain)
cli.add_command(audit_cmds.audit)
cli.add_command(registry_cmds.registry)
cli.add_command(registry_cmds.incidents)
cli.add_command(serve_cmds.serve)
cli.add_command(testing_cmds.test)
cli.add_command(testing_cmds.lint)


def main() -> None:
    cli()
