"""Parity results as data: load ``--parity-json`` files (or a previous report) and merge them.

Several files, typically one per tox environment, merge into one :class:`Results`: rows are
keyed by (provider, scenario, mode), each environment's outcome is kept, and a case failed
when any environment failed it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RAW_FORMAT = "llm-parity/1"
REPORT_FORMAT = "llm-parity-report/1"
OUTCOMES = ("pass", "fail", "leaked", "not supported", "skipped")
"""``leaked``: a regression spec found state an earlier spec left behind (its row names
which), so it could not judge its own mechanism."""
SEVERITY = {"fail": 3, "leaked": 3, "not supported": 2, "skipped": 1, "pass": 0}
"""The merged outcome of a case is its worst environment's, in this order."""
PROVIDER_ORDER = ("openai", "anthropic", "gemini", "bedrock")
MODE_ORDER = ("sync", "async", "stream", "astream", "thread_pool", "asyncify", "parallel", "tasks")

Key = tuple[str, str, str]


class ReportError(Exception):
    """A results file is missing, unreadable or malformed; the message names the file."""


@dataclass(frozen=True)
class Difference:
    """One field that differed from its baseline in a failed case."""

    field: str
    expected: str
    got: str


@dataclass(frozen=True)
class EnvOutcome:
    """One environment's result for one case."""

    env: str
    outcome: str
    duration: float = 0.0
    differences: tuple[Difference, ...] = ()
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class Run:
    """One results file: the environment that produced it.

    ``version`` is the suite's (llm-parity's); ``client`` the adapter under test, and
    ``client_library`` / ``client_version`` the library it drives and its version ("" when
    the file does not say: files written before they were recorded)."""

    env: str
    source: str
    version: str
    client: str
    python: str
    created: str
    client_library: str = ""
    client_version: str = ""


@dataclass
class Case:
    """A (provider, scenario, mode) case and its outcome in every environment that ran it."""

    provider: str
    scenario: str
    mode: str
    kind: str = "scenario"
    title: str = ""
    citation: str = ""
    envs: list[EnvOutcome] = field(default_factory=list)

    @property
    def key(self) -> Key:
        """(provider, scenario, mode)."""
        return (self.provider, self.scenario, self.mode)

    @property
    def outcome(self) -> str:
        """The worst outcome over the environments: ``fail`` if any environment failed."""
        if not self.envs:
            return "skipped"
        return max((e.outcome for e in self.envs), key=lambda o: SEVERITY.get(o, 3))

    @property
    def mixed(self) -> bool:
        """Whether the environments disagree."""
        return len({e.outcome for e in self.envs}) > 1

    @property
    def duration(self) -> float:
        """Seconds spent on this case, summed over the environments."""
        return sum(e.duration for e in self.envs)


@dataclass(frozen=True)
class Totals:
    """Counts of merged cases by outcome, and the summed duration in seconds."""

    cases: int
    passed: int
    failed: int
    leaked: int
    not_supported: int
    skipped: int
    duration: float


@dataclass
class Results:
    """Merged results: the runs (files) that contributed and the cases, by key."""

    runs: list[Run] = field(default_factory=list)
    cases: dict[Key, Case] = field(default_factory=dict)

    @property
    def version(self) -> str:
        """The tested version, when every run agrees on one ('' otherwise)."""
        versions = {run.version for run in self.runs if run.version}
        return versions.pop() if len(versions) == 1 else ""

    def select(self, kind: str | None = None) -> list[Case]:
        """The cases of ``kind`` (``scenario`` or ``regression``), or all of them."""
        return [c for c in self.cases.values() if kind in (None, c.kind)]

    def providers(self, kind: str | None = None) -> list[str]:
        """Providers present, known ones in their usual order, then the rest sorted."""
        return _ordered({c.provider for c in self.select(kind)}, PROVIDER_ORDER)

    def modes(self, kind: str | None = None) -> list[str]:
        """Modes present, in the suite's order, then the rest sorted."""
        return _ordered({c.mode for c in self.select(kind)}, MODE_ORDER)

    def scenarios(self, provider: str | None = None, kind: str | None = None) -> list[str]:
        """Scenario names present (for ``provider``), sorted."""
        return sorted({c.scenario for c in self.select(kind) if provider in (None, c.provider)})

    def totals(self) -> Totals:
        """Counts over the merged cases."""
        outcomes = [c.outcome for c in self.cases.values()]
        return Totals(
            cases=len(outcomes),
            passed=outcomes.count("pass"),
            failed=outcomes.count("fail"),
            leaked=outcomes.count("leaked"),
            not_supported=outcomes.count("not supported"),
            skipped=outcomes.count("skipped"),
            duration=round(sum(c.duration for c in self.cases.values()), 6),
        )

    def summary(self) -> str:
        """One line: version, counts, duration and environments."""
        t = self.totals()
        envs = len(self.runs)
        return (
            f"llm-parity {self.version or '?'}: {t.cases} cases, {t.passed} passed, "
            f"{t.failed} failed, {t.leaked} leaked, {t.not_supported} not supported, "
            f"{t.skipped} skipped, "
            f"{t.duration:.2f} s over {envs} environment{'s' if envs != 1 else ''}"
        )


def _ordered(names: Iterable[str], order: Sequence[str]) -> list[str]:
    rank = {name: i for i, name in enumerate(order)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), n))


def load_results(paths: Iterable[str | Path]) -> Results:
    """Read and merge parity files (``--parity-json``) or previous reports' ``.json``.

    Raises :class:`ReportError` naming the file when one is missing or malformed.
    """
    results = Results()
    for path in paths:
        document = _read(Path(path))
        if document["format"] == REPORT_FORMAT:
            _merge_report(results, document, str(path))
        else:
            _merge_raw(results, document, str(path))
    return results


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise ReportError(f"{path}: expected a JSON object, got {type(document).__name__}")
    if document.get("format") not in (RAW_FORMAT, REPORT_FORMAT):
        raise ReportError(
            f"{path}: unknown format {document.get('format')!r}; "
            f"expected {RAW_FORMAT!r} (--parity-json) or {REPORT_FORMAT!r} (a report)"
        )
    return document


def _text(value: Any, where: str, name: str, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ReportError(f"{where}: {name!r} must be a non-empty string, got {value!r}")
    return value


def _env_label(source: str, python: str) -> str:
    """``parity-py311-floor.json`` -> ``py311-floor``; ``parity.json`` -> ``py3.11.7``."""
    stem = Path(source).stem
    return stem.removeprefix("parity").lstrip("-_.") or (f"py{python}" if python else stem)


def _unique(results: Results, label: str) -> str:
    taken = {run.env for run in results.runs}
    unique, n = label, 2
    while unique in taken:
        unique, n = f"{label}#{n}", n + 1
    return unique


def _merge_raw(results: Results, document: Mapping[str, Any], source: str) -> None:
    python = _text(document.get("python"), source, "python")
    run = Run(
        env=_unique(results, _env_label(source, python)),
        source=source,
        version=_text(document.get("version"), source, "version"),
        client=_text(document.get("client"), source, "client"),
        python=python,
        created=_text(document.get("created"), source, "created"),
        client_library=_text(document.get("client_library"), source, "client_library"),
        client_version=_text(document.get("client_version"), source, "client_version"),
    )
    rows = document.get("results")
    if not isinstance(rows, list):
        raise ReportError(f"{source}: 'results' must be a list")
    results.runs.append(run)
    for index, row in enumerate(rows):
        where = f"{source}: results[{index}]"
        if not isinstance(row, dict):
            raise ReportError(f"{where}: expected an object")
        _add(results, row, _env_outcome(row, run.env, where), where)


def _merge_report(results: Results, document: Mapping[str, Any], source: str) -> None:
    envs, cases = document.get("environments"), document.get("cases")
    if not isinstance(envs, list) or not isinstance(cases, list):
        raise ReportError(f"{source}: 'environments' and 'cases' must be lists")
    labels: dict[str, str] = {}
    for index, env in enumerate(envs):
        where = f"{source}: environments[{index}]"
        if not isinstance(env, dict):
            raise ReportError(f"{where}: expected an object")
        name = _text(env.get("env"), where, "env", required=True)
        python = _text(env.get("python"), where, "python")
        labels[name] = _unique(results, name)
        results.runs.append(
            Run(
                env=labels[name],
                source=_text(env.get("source"), where, "source") or source,
                version=_text(env.get("version"), where, "version"),
                client=_text(env.get("client"), where, "client"),
                python=python,
                created=_text(env.get("created"), where, "created"),
                client_library=_text(env.get("client_library"), where, "client_library"),
                client_version=_text(env.get("client_version"), where, "client_version"),
            )
        )
    for index, row in enumerate(cases):
        where = f"{source}: cases[{index}]"
        per_env = row.get("envs") if isinstance(row, dict) else None
        if not isinstance(per_env, dict):
            raise ReportError(f"{where}: expected an object with an 'envs' object")
        for env, value in per_env.items():
            if env not in labels or not isinstance(value, dict):
                raise ReportError(f"{where}: unknown environment {env!r}")
            _add(results, row, _env_outcome(value, labels[env], where), where)


def _env_outcome(row: Mapping[str, Any], env: str, where: str) -> EnvOutcome:
    outcome = row.get("outcome")
    if outcome not in OUTCOMES:
        raise ReportError(f"{where}: 'outcome' must be one of {OUTCOMES}, got {outcome!r}")
    duration = row.get("duration", 0.0)
    if isinstance(duration, bool) or not isinstance(duration, (int, float)):
        raise ReportError(f"{where}: 'duration' must be a number, got {duration!r}")
    raw_diffs = row.get("differences") or []
    if not isinstance(raw_diffs, list) or not all(isinstance(d, dict) for d in raw_diffs):
        raise ReportError(f"{where}: 'differences' must be a list of objects")
    return EnvOutcome(
        env=env,
        outcome=str(outcome),
        duration=float(duration),
        differences=tuple(
            Difference(str(d.get("field", "")), str(d.get("expected", "")), str(d.get("got", "")))
            for d in raw_diffs
        ),
        reason=_text(row.get("reason"), where, "reason"),
        message=_text(row.get("message"), where, "message"),
    )


def _add(results: Results, row: Mapping[str, Any], env: EnvOutcome, where: str) -> None:
    provider = _text(row.get("provider"), where, "provider", required=True)
    scenario = _text(row.get("scenario"), where, "scenario", required=True)
    mode = _text(row.get("mode"), where, "mode", required=True)
    case = results.cases.get((provider, scenario, mode))
    if case is None:
        case = results.cases[(provider, scenario, mode)] = Case(provider, scenario, mode)
    case.kind = _text(row.get("kind"), where, "kind") or case.kind
    case.title = _text(row.get("title"), where, "title") or case.title
    case.citation = _text(row.get("citation"), where, "citation") or case.citation
    case.envs.append(env)
