"""House rules that keep the code navigable: imports flow one way; every command is documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from dealerpolicy.cli.main import cli

SRC = Path(__file__).resolve().parents[1] / "src" / "dealerpolicy"
README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")

# package → packages it must never import (data flows cli/service → engine → rulebook → lang → schema)
FORBIDDEN = {
    "lang": {"rulebook", "engine", "explain", "audit", "registry", "service", "cli", "api", "testing"},
    "schema": {"lang", "rulebook", "engine", "explain", "audit", "registry", "service", "cli", "api"},
    "rulebook": {"engine", "explain", "audit", "registry", "service", "cli", "api"},
    "engine": {"explain", "audit", "registry", "service", "cli", "api"},
    "audit": {"rulebook", "engine", "lang", "explain", "service", "cli"},
    "storage": {"rulebook", "engine", "lang", "explain", "service", "cli"},
}
UI_LIBRARIES = {"click", "fastapi", "starlette", "uvicorn"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_imports_flow_one_way():
    wrong = []
    for package, banned in FORBIDDEN.items():
        for path in (SRC / package).rglob("*.py") if (SRC / package).is_dir() else [SRC / f"{package}.py"]:
            for name in imports_of(path):
                parts = name.split(".")
                if parts[0] == "dealerpolicy" and len(parts) > 1 and parts[1] in banned:
                    wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert wrong == []


def test_only_the_cli_and_the_service_know_click_or_http():
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] in ("cli", "service", "testing"):
            continue
        for name in imports_of(path):
            if name.split(".")[0] in UI_LIBRARIES:
                wrong.append(f"{rel} imports {name}")
    assert wrong == []


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out = []
    for name, command in group.commands.items():
        full = f"{prefix}{name}"
        out.append((full, command))
        if isinstance(command, click.Group):
            out += commands(command, f"{full} ")
    return out


def test_every_command_has_help_and_is_in_the_readme():
    missing_help, missing_readme = [], []
    for name, command in commands(cli):
        if not (command.help or "").strip():
            missing_help.append(name)
        top = name.split(" ")[0]
        if f"dealerpolicy {top}" not in README:
            missing_readme.append(name)
    assert missing_help == [] and missing_readme == []


def test_every_leaf_command_shows_an_example():
    no_example = [name for name, command in commands(cli)
                  if not isinstance(command, click.Group) and "Example" not in (command.help or "")]
    assert no_example == []


def test_every_error_code_family_is_documented():
    codes = set()
    for path in SRC.rglob("*.py"):
        codes |= set(re.findall(r'"((?:yaml|rule|expr|message|table|derive|param|policy|schema|fact|request|'
                                r'audit|engine|lint|point)\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    undocumented = sorted(c for c in codes if c not in README and f"{c.split('.')[0]}.*" not in README)
    assert undocumented == []
