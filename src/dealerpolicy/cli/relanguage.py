"""`explain --lang`: decisions made in the other language, put into the report's from the audit log."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dealerpolicy.cli.readable import RERENDERED_FROM
from dealerpolicy.cli.render import printable
from dealerpolicy.errors import DealerPolicyError
from dealerpolicy.storage.engine import redact, resolve_url

LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


class ReportLanguage:
    """Each decision in the report's language: as printed when made in it, else decided again
    from its audit record (`dealerpolicy.relang`). Those that cannot be are shown as made, and
    counted by reason for `summary`."""

    def __init__(self, lang: str, db_url: str | None):
        self.lang = lang
        self.url = resolve_url(db_url)
        self.kept: Counter[str] = Counter()
        self.made_in: set[str] = set()
        self.rerendered = 0
        self._rerenderer: Any = None
        self._unopened: str | None = None  # why the log cannot be read, once tried

    def read_ahead(self, decisions: list[Any]) -> None:
        """Read the audit records of the decisions made in the other language, in a few queries."""
        ids = [str(d.get("decision_id")) for d in decisions
               if isinstance(d, dict) and d.get("lang", "zh") != self.lang]
        if ids and self._open() is None:
            try:
                self._rerenderer.read_ahead(ids)
            except DealerPolicyError as exc:
                self._unopened = f"cannot read the audit log: {exc.diagnostics[0].message}"

    def shown(self, decision: dict[str, Any]) -> dict[str, Any]:
        made_in = decision.get("lang", "zh")
        if made_in == self.lang:
            return decision
        self.made_in.add(str(made_in))
        why = self._open()
        if why is None:
            from dealerpolicy.relang import NotReproduced, in_language

            try:
                shown = in_language(decision, self.lang, self._rerenderer)
            except LookupError:
                why = f"not in the audit log at {redact(self.url)}"
            except NotReproduced as exc:
                why = str(exc)
            except DealerPolicyError as exc:
                why = f"cannot be evaluated again: {exc.diagnostics[0].message}"
            else:
                self.rerendered += 1
                shown[RERENDERED_FROM] = made_in
                return shown
        self.kept[why] += 1
        return decision

    def _open(self) -> str | None:
        if self._rerenderer is None and self._unopened is None:
            from dealerpolicy.audit.store import AuditStore
            from dealerpolicy.relang import Rerenderer

            try:
                self._rerenderer = Rerenderer(AuditStore(self.url, existing=True), keep=4)
            except DealerPolicyError as exc:
                self._unopened = f"no audit log to read: {exc.diagnostics[0].message}"
        return self._unopened

    def summary(self) -> list[str]:
        """Lines for stderr about the decisions shown as made, if any (escaped: the languages
        named are the decisions' own `lang`, and the reasons may quote them)."""
        n = sum(self.kept.values())
        if not n:
            return []
        made = "/".join(sorted(self.made_in))
        lines = [f"note: {n} decision{'s' if n > 1 else ''} made in {made} {'are' if n > 1 else 'is'} shown with "
                 f"{'their' if n > 1 else 'its'} messages and reasons as made, headings in "
                 f"{LANGUAGE_NAMES.get(self.lang, self.lang)}:"]
        lines += [f"  {count} × {why}" for why, count in self.kept.most_common()]
        lines.append(f"  hint: decide them with check --lang {self.lang}, or let check record them in the audit "
                     "log (no --no-audit; --db as for check) to have them re-rendered here")
        return [printable(line) for line in lines]

    def close(self) -> None:
        if self._rerenderer is not None:
            self._rerenderer.close()
