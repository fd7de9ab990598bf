"""The JSON report: merged cases with every environment's outcome.

Its ``format`` is ``llm-parity-report/1``; :func:`harness.report.load_results` reads it back,
so a release's ``reports/<version>.json`` serves as the next release's ``--baseline``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from harness.report.model import REPORT_FORMAT, EnvOutcome, Results
from harness.report.views import (
    MATRIX_KIND,
    client_line,
    clients,
    feature_cell,
    features,
    matrix,
    regressions,
)


def _env(env: EnvOutcome) -> dict[str, Any]:
    data: dict[str, Any] = {"outcome": env.outcome, "duration": env.duration}
    if env.differences:
        data["differences"] = [asdict(d) for d in env.differences]
    if env.reason:
        data["reason"] = env.reason
    if env.message:
        data["message"] = env.message
    return data


def to_document(results: Results, *, version: str | None = None) -> dict[str, Any]:
    """The report as a JSON-ready dict (see :func:`to_json`)."""
    cases = []
    for case in sorted(results.cases.values(), key=lambda c: c.key):
        row: dict[str, Any] = {
            "provider": case.provider,
            "scenario": case.scenario,
            "mode": case.mode,
            "kind": case.kind,
            "outcome": case.outcome,
        }
        if case.title:
            row["title"] = case.title
        if case.citation:
            row["citation"] = case.citation
        row["envs"] = {env.env: _env(env) for env in case.envs}
        cases.append(row)
    return {
        "format": REPORT_FORMAT,
        "version": version or results.version,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "client": client_line(results),
        "clients": [
            {"client": c.name, "library": c.library, "version": c.version, "envs": list(c.envs)}
            for c in clients(results)
        ],
        "summary": results.summary(),
        "totals": asdict(results.totals()),
        "environments": [asdict(run) for run in results.runs],
        "features": {
            provider: {mode: {**asdict(f), "cell": feature_cell(f)} for mode, f in row.items()}
            for provider, row in features(results).items()
        },
        "not_offered": {
            provider: [row.scenario for row in matrix(results, provider) if not row.offered]
            for provider in results.providers(MATRIX_KIND)
        },
        "regressions": [
            {
                "scenario": r.scenario,
                "title": r.title,
                "citation": r.citation,
                "modes": r.modes,
                "status": r.status,
                "result": r.result,
            }
            for r in regressions(results)
        ],
        "cases": cases,
    }


def to_json(results: Results, *, version: str | None = None) -> str:
    """The report as JSON text: the clients under test, totals, environments, features
    (each with the cell text the other reports show), the scenarios each provider does
    not offer (``n/a`` in the matrix), regressions and cases."""
    return json.dumps(to_document(results, version=version), indent=2) + "\n"
