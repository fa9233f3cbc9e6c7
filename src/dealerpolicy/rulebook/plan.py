"""The loaded rulebook: policies by point and version, and its content hash (the rules version)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dealerpolicy.errors import Diagnostic, DiagnosticBag
from dealerpolicy.rulebook.policy import Policy
from dealerpolicy.schema import Schema


def content_hash(files: dict[str, str]) -> str:
    """sha256 over every file's relative path and text, in path order: same files → same version."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode())
        h.update(b"\0")
        h.update(files[name].encode())
        h.update(b"\0")
    return h.hexdigest()


@dataclass
class Rulebook:
    root: Path
    schema: Schema
    policies: list[Policy]
    files: dict[str, str]  # path relative to root → text (what the rules version hashes)
    version: str = field(init=False)
    #: load findings that do not stop the rulebook (an empty policy or table): `validate` shows
    #: them, `validate --strict` refuses them
    warnings: list[Diagnostic] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.version = content_hash(self.files)
        self._by_point: dict[str, list[Policy]] = defaultdict(list)
        for p in self.policies:
            self._by_point[p.point].append(p)

    @property
    def short_version(self) -> str:
        return self.version[:12]

    def policies_of(self, point: str) -> list[Policy]:
        return list(self._by_point.get(point, []))

    def in_force(self, point: str, on: date) -> list[Policy]:
        """The version of each policy of `point` whose effective dates contain `on`."""
        return [p for p in self._by_point.get(point, []) if p.in_force(on)]

    def version_of(self, policy_id: str, on: date) -> Policy | None:
        for p in self.policies:
            if p.id == policy_id and p.in_force(on):
                return p
        return None

    def summary(self) -> str:
        rules = sum(len(p.rules) for p in self.policies)
        points = sorted({p.point for p in self.policies})
        return (f"{len(self.policies)} policies, {rules} rules, {len(points)} points "
                f"({', '.join(points)}); rules version {self.short_version}")


def check_versions(policies: list[Policy], schema: Schema, bag: DiagnosticBag) -> None:
    """Versions of one policy: same point, distinct version names, effective ranges that do not overlap."""
    by_id: dict[str, list[Policy]] = defaultdict(list)
    for p in policies:
        by_id[p.id].append(p)
    for pid, versions in by_id.items():
        versions.sort(key=lambda p: p.effective_from)
        for a, b in zip(versions, versions[1:], strict=False):
            if a.point != b.point:
                bag.add("policy.point_changed", f"policy {pid}: version {b.version} serves point {b.point}, "
                        f"version {a.version} serves {a.point}", b.span, "one policy id serves one point")
            if a.version == b.version:
                bag.add("policy.duplicate_version", f"policy {pid} version {b.version} is defined twice "
                        f"({a.file} and {b.file})", b.span, "give the new version a new version: number")
            elif a.effective_until is None or a.effective_until >= b.effective_from:
                bag.add("policy.overlapping_versions",
                        f"policy {pid}: versions {a.version} and {b.version} are both in force on "
                        f"{b.effective_from}", b.span,
                        f"set effective_until: {b.effective_from.fromordinal(b.effective_from.toordinal() - 1)} "
                        f"on version {a.version}")
