"""`dealerpolicy validate` and `dealerpolicy schema`."""

from __future__ import annotations

import dataclasses
import json
import sys

import click

from dealerpolicy.cli.render import render_diagnostic, report_error
from dealerpolicy.errors import DealerPolicyError


@click.command()
@click.argument("rules_dir", default="rules", type=click.Path(file_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True,
              help="Also run the lint checks (dead rules, gaps, unused params); warnings are errors.")
def validate(rules_dir: str, fmt: str, strict: bool) -> None:
    """Check a rules folder like a compiler: every problem with file:line:column and a hint.

    Warnings (a policy or table without rows) are shown and do not fail, except with --strict.

    Example: dealerpolicy validate rules/
    """
    from dealerpolicy import api

    try:
        book = api.load_rulebook(rules_dir)  # also what durable_rules would refuse when deciding
        findings = [dataclasses.replace(w, severity="error") for w in book.warnings] + api.lint(book) \
            if strict else []
    except DealerPolicyError as exc:
        report_error(exc, fmt)
        sys.exit(1)
    if findings:
        report_error(DealerPolicyError(findings), fmt)
        sys.exit(1)
    if fmt == "text":
        for warning in book.warnings:
            click.echo(render_diagnostic(warning), err=True)
    review = sorted({f"{p.id}:{r.clause}" for p in book.policies for r in p.rules if "legal_review" in r.tags})
    if fmt == "json":
        click.echo(json.dumps({"errors": [], "warnings": [w.to_json() for w in book.warnings],
                               "summary": book.summary(), "legal_review": review}, ensure_ascii=False))
        return
    count = len(book.warnings)
    click.echo(f"ok: {book.summary()}" + (f" ({count} warning{'s' if count != 1 else ''})" if count else ""))
    if review:
        click.echo(f"note: {len(review)} rule(s) tagged legal_review ({', '.join(review)}): resale-price rules "
                   "are a vertical-monopoly risk; they should open an investigation, never fine automatically")


@click.command()
@click.option("--json-schema", "as_json_schema", is_flag=True, help="Print the JSON Schema of policy files.")
def schema(as_json_schema: bool) -> None:
    """Print the JSON Schema of the policy-file format, for editors (VS Code YAML extension).

    Example: dealerpolicy schema --json-schema > policy.schema.json
    """
    from dealerpolicy.rulebook.model import policy_json_schema

    click.echo(json.dumps(policy_json_schema(), ensure_ascii=False, indent=2))
