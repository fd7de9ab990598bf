"""What got worse and what got better between a baseline report and the current results."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.report.model import Key, Results


@dataclass(frozen=True)
class Change:
    """One case whose merged outcome changed; ``None`` means absent on that side."""

    provider: str
    scenario: str
    mode: str
    before: str | None
    after: str | None
    what: str

    def __str__(self) -> str:
        before, after = self.before or "absent", self.after or "absent"
        return f"{self.provider} / {self.scenario} / {self.mode}: {before} -> {after} ({self.what})"


@dataclass(frozen=True)
class Diff:
    """The changes from a baseline: ``worse`` (regressions) and ``better``."""

    worse: list[Change] = field(default_factory=list)
    better: list[Change] = field(default_factory=list)

    @property
    def regressed(self) -> bool:
        """Whether anything got worse."""
        return bool(self.worse)

    def lines(self) -> list[str]:
        """Human-readable lines, worse first."""
        out = [f"worse: {len(self.worse)}", *(f"  - {c}" for c in self.worse)]
        out += [f"better: {len(self.better)}", *(f"  + {c}" for c in self.better)]
        return out


def classify(before: str | None, after: str | None) -> tuple[str, str] | None:
    """(``worse`` or ``better``, why) for one case's change, or None when it is neutral."""
    if before == after:
        return None
    if after is None:
        return ("worse", "case disappeared")
    if before is None:
        return (
            ("worse", "new case fails") if after in ("fail", "leaked") else ("better", "new case")
        )
    if after == "fail":
        return ("worse", "now fails")
    if after == "leaked":
        return ("worse", "now finds state leaked from another spec")
    if {before, after} == {"skipped", "not supported"}:
        return None  # neither ran: a skip says nothing about support
    if after == "not supported":
        return ("worse", "no longer supported")
    if before in ("fail", "leaked"):
        return ("better", "fixed" if after == "pass" else f"no longer fails ({after})")
    if before == "not supported":
        return ("better", "now supported")
    if after == "skipped":
        return ("worse", "no longer runs")
    return ("better", "runs again")


def diff(baseline: Results, current: Results) -> Diff:
    """Compare merged outcomes case by case.

    Worse: anything -> fail, supported -> not supported, pass -> skipped, a case that
    disappeared, a new case that fails. Better: fail -> pass (or skipped), not supported
    -> supported, skipped -> pass, a new case that does not fail.
    """
    result = Diff()
    keys: list[Key] = sorted(set(baseline.cases) | set(current.cases))
    for key in keys:
        old, new = baseline.cases.get(key), current.cases.get(key)
        before = old.outcome if old else None
        after = new.outcome if new else None
        verdict = classify(before, after)
        if verdict is None:
            continue
        direction, what = verdict
        change = Change(*key, before=before, after=after, what=what)
        (result.worse if direction == "worse" else result.better).append(change)
    return result
