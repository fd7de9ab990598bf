"""The tables every report shows, derived from merged :class:`Results`."""

from __future__ import annotations

from dataclasses import dataclass

from harness.report.model import Case, Results

CELL = {
    "pass": "pass",
    "fail": "FAIL",
    "leaked": "LEAKED",
    "not supported": "n/s",
    "skipped": "skip",
}
"""Matrix cell text by merged outcome."""
NOT_RUN = "—"
"""Matrix cell text for a mode that does not apply to a scenario."""
NOT_OFFERED = "n/a"
"""Matrix cell text for a scenario the provider does not offer (run for other providers)."""
MATRIX_LEGEND = (
    "pass, FAIL, n/s (not supported by the client), skip; — where a mode does not apply "
    "to the scenario; n/a where the provider does not offer the scenario."
)
CATALOGUE_HEADER = ("spec", "behaviour that must hold", "result", "modes", "bug it guards against")
"""The regression catalogue's columns: the behaviour first, the bug cited apart."""


@dataclass(frozen=True)
class ClientUnderTest:
    """One client the results were produced with, and the environments that ran it."""

    name: str
    library: str
    version: str
    envs: tuple[str, ...]

    def __str__(self) -> str:
        name = self.name or "unnamed client"
        if not (self.library or self.version):
            return f"{name} (library and version not recorded)"
        return f"{name} ({' '.join(part for part in (self.library, self.version) if part)})"


def clients(results: Results) -> list[ClientUnderTest]:
    """The clients under test, in the order their first environment appears."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    for run in results.runs:
        key = (run.client, run.client_library, run.client_version)
        grouped.setdefault(key, []).append(run.env)
    return [ClientUnderTest(*key, tuple(envs)) for key, envs in grouped.items()]


def client_line(results: Results) -> str:
    """``Client under test: openai-sdk (openai 1.63.0)``; with several, each names its
    environments."""
    found = clients(results)
    if not found:
        return "Client under test: none (no results)"
    if len(found) == 1:
        return f"Client under test: {found[0]}"
    listed = "; ".join(f"{c} in {', '.join(c.envs)}" for c in found)
    return f"Clients under test: {listed}"


@dataclass(frozen=True)
class Feature:
    """Whether ``provider`` supports ``mode`` (from the cases' "not supported" rows) and
    how many of its cases passed."""

    provider: str
    mode: str
    status: str
    """``supported``, ``not supported`` or ``partial`` (some cases not supported)."""
    supported: int
    total: int
    reasons: tuple[str, ...]
    passed: int = 0
    failed: int = 0


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


@dataclass(frozen=True)
class MatrixRow:
    """One scenario in one provider's matrix: a case (or None) per mode; ``offered`` is
    False when the provider has no case of it (the scenario ran for other providers)."""

    scenario: str
    cases: tuple[Case | None, ...]
    offered: bool

    def cells(self) -> list[str]:
        """The cell texts, one per mode."""
        if not self.offered:
            return [NOT_OFFERED] * len(self.cases)
        return [cell(case) for case in self.cases]


def matrix(results: Results, provider: str) -> list[MatrixRow]:
    """A row per scenario of every provider, cases by ``results.modes("scenario")``:
    scenarios ``provider`` lacks are rows too, marked not offered."""
    modes = results.modes(MATRIX_KIND)
    offered = set(results.scenarios(provider, MATRIX_KIND))
    return [
        MatrixRow(
            scenario,
            tuple(results.cases.get((provider, scenario, mode)) for mode in modes),
            scenario in offered,
        )
        for scenario in results.scenarios(None, MATRIX_KIND)
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
                provider,
                mode,
                status,
                len(cases) - len(missing),
                len(cases),
                tuple(reasons),
                passed=sum(c.outcome == "pass" for c in cases),
                failed=sum(c.outcome == "fail" for c in cases),
            )
    return table


def feature_cell(feature: Feature | None) -> str:
    """``yes`` (every case passed), ``no`` (none supported), a dash (none ran), else what
    passed and why the rest did not: ``0/28 pass (21 FAIL, 7 n/s)``."""
    if feature is None:
        return NOT_RUN
    if feature.status == "not supported":
        return "no"
    if feature.passed == feature.total:
        return "yes"
    skipped = feature.supported - feature.passed - feature.failed
    rest = [
        f"{count} {label}"
        for count, label in (
            (feature.failed, "FAIL"),
            (feature.total - feature.supported, "n/s"),
            (skipped, "skip"),
        )
        if count
    ]
    return f"{feature.passed}/{feature.total} pass ({', '.join(rest)})"


def feature_state(feature: Feature) -> str:
    """``yes``, ``fail``, ``partial`` or ``no``: how a feature cell is coloured."""
    if feature.status == "not supported":
        return "no"
    if feature.failed:
        return "fail"
    return "yes" if feature.passed == feature.total else "partial"


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
