"""The tables every report shows, derived from merged :class:`Results`."""

from __future__ import annotations

from dataclasses import dataclass

from harness.report.model import Case, Results

CELL = {"pass": "pass", "fail": "FAIL", "not supported": "n/s", "skipped": "skip"}
"""Matrix cell text by merged outcome."""
NOT_RUN = "—"
"""Matrix cell text for a mode that does not apply to a scenario."""


@dataclass(frozen=True)
class Feature:
    """Whether ``provider`` supports ``mode``: from the cases' "not supported" rows."""

    provider: str
    mode: str
    status: str
    """``supported``, ``not supported`` or ``partial`` (some cases not supported)."""
    supported: int
    total: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Regression:
    """One regression scenario of the catalogue, over every provider and mode."""

    scenario: str
    title: str
    citation: str
    cases: tuple[Case, ...]

    @property
    def failed(self) -> tuple[Case, ...]:
        """The cases that failed."""
        return tuple(c for c in self.cases if c.outcome == "fail")

    @property
    def status(self) -> str:
        """``FAIL`` if any case failed, ``pass`` if any passed, else ``n/s`` or ``skip``."""
        outcomes = {c.outcome for c in self.cases}
        for outcome in ("fail", "pass", "not supported"):
            if outcome in outcomes:
                return CELL[outcome]
        return CELL["skipped"]

    @property
    def modes(self) -> str:
        """The modes it ran in, e.g. ``acall, astream``."""
        return ", ".join(dict.fromkeys(c.mode for c in self.cases))

    @property
    def result(self) -> str:
        """E.g. ``pass 12/12`` or ``FAIL 2/12: openai/async, gemini/stream``."""
        ran = [c for c in self.cases if c.outcome in ("pass", "fail")]
        passed = sum(c.outcome == "pass" for c in ran)
        if self.failed:
            where = ", ".join(f"{c.provider}/{c.mode}" for c in self.failed)
            return f"FAIL {len(self.failed)}/{len(ran)}: {where}"
        return f"{self.status} {passed}/{len(ran)}"


def cell(case: Case | None) -> str:
    """The matrix cell for ``case``: pass, FAIL, n/s, skip, or a dash when not run."""
    if case is None:
        return NOT_RUN
    text = CELL[case.outcome]
    if case.mixed:
        count = sum(e.outcome == case.outcome for e in case.envs)
        text += f" ({count}/{len(case.envs)})"
    return text


MATRIX_KIND = "scenario"
"""The matrix and the feature table show the catalogue's scenarios; regression rows, whose
modes are their own, are in the regression catalogue."""


def matrix(results: Results, provider: str) -> list[tuple[str, list[Case | None]]]:
    """Rows (scenario, one case or None per mode of ``results.modes("scenario")``)."""
    modes = results.modes(MATRIX_KIND)
    return [
        (scenario, [results.cases.get((provider, scenario, mode)) for mode in modes])
        for scenario in results.scenarios(provider, MATRIX_KIND)
    ]


def describe(results: Results, scenario: str) -> str:
    """A scenario's title (its summary, or a regression's title), when the rows carry one."""
    for case in results.cases.values():
        if case.scenario == scenario and case.title:
            return case.title
    return ""


def features(results: Results) -> dict[str, dict[str, Feature]]:
    """provider -> mode -> :class:`Feature`, for the modes each provider ran (scenarios)."""
    table: dict[str, dict[str, Feature]] = {}
    scenarios = results.select(MATRIX_KIND)
    for provider in results.providers(MATRIX_KIND):
        row = table[provider] = {}
        for mode in results.modes(MATRIX_KIND):
            cases = [c for c in scenarios if c.provider == provider and c.mode == mode]
            if not cases:
                continue
            missing = [c for c in cases if c.outcome == "not supported"]
            reasons = sorted({e.reason for c in missing for e in c.envs if e.reason})
            status = "supported" if not missing else "partial"
            if len(missing) == len(cases):
                status = "not supported"
            row[mode] = Feature(
                provider, mode, status, len(cases) - len(missing), len(cases), tuple(reasons)
            )
    return table


def feature_cell(feature: Feature | None) -> str:
    """``yes``, ``no``, ``partial (n/m)`` or a dash."""
    if feature is None:
        return NOT_RUN
    if feature.status == "supported":
        return "yes"
    if feature.status == "not supported":
        return "no"
    return f"partial ({feature.supported}/{feature.total})"


def regressions(results: Results) -> list[Regression]:
    """The regression catalogue: scenarios whose rows carry ``kind: regression``."""
    grouped: dict[str, list[Case]] = {}
    for case in results.cases.values():
        if case.kind == "regression":
            grouped.setdefault(case.scenario, []).append(case)
    return [
        Regression(
            scenario,
            next((c.title for c in cases if c.title), ""),
            next((c.citation for c in cases if c.citation), ""),
            tuple(cases),
        )
        for scenario, cases in sorted(grouped.items())
    ]


def failures(results: Results) -> list[Case]:
    """The failed cases, in matrix order."""
    order = {name: i for i, name in enumerate(results.scenarios())}
    providers, modes = results.providers(), results.modes()
    failed = [c for c in results.cases.values() if c.outcome == "fail"]
    return sorted(
        failed,
        key=lambda c: (providers.index(c.provider), order[c.scenario], modes.index(c.mode)),
    )
