"""pytest plugin (entry point ``pytest11``): options, the suite fixture, parity results.

pytest conformance/                          every provider, the reference client
pytest conformance/ --provider bedrock       only Bedrock (repeatable, or a,b)
pytest conformance/ --client pkg.mod:make    another client, through its adapter
pytest conformance/ --record-mode=once       record missing cassettes (real keys)
pytest conformance/ --record-mode=rewrite --emulator   re-record against the emulator
pytest conformance/ --parity-json out.json   machine-readable results
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.base import ClientAdapter
from harness.providers import PROVIDERS

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
CLIENTS = {"reference": "harness.adapters.reference:ReferenceAdapter"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llm-parity", "LLM client conformance suite")
    group.addoption(
        "--provider",
        action="append",
        default=[],
        help=f"run only these providers (repeatable or comma-separated): {', '.join(PROVIDERS)}",
    )
    group.addoption(
        "--client",
        default="reference",
        help="the client under test: 'reference' or MODULE:FACTORY returning a ClientAdapter",
    )
    if importlib.util.find_spec("pytest_recording") is None:
        # pytest-recording defines the same option (same dest, same modes): share it.
        group.addoption(
            "--record-mode",
            default="none",
            choices=RECORD_MODES,
            help="vcrpy record mode; 'none' (default) replays only, 'rewrite' re-records",
        )
    group.addoption(
        "--emulator",
        action="store_true",
        help="when recording, answer from the built-in provider emulator instead of the network",
    )
    group.addoption("--cassette-dir", default=None, help="default: cassettes/ under rootdir")
    group.addoption("--parity-json", default=None, help="write per-case parity results here")


def selected_providers(config: pytest.Config) -> tuple[str, ...]:
    """The providers named by --provider (all when none)."""
    names = [n.strip() for value in config.getoption("provider") for n in value.split(",")]
    names = [n for n in names if n]
    unknown = sorted(set(names) - set(PROVIDERS))
    if unknown:
        raise pytest.UsageError(
            f"--provider: unknown provider(s) {', '.join(unknown)}; "
            f"choose from {', '.join(PROVIDERS)}"
        )
    return tuple(p for p in PROVIDERS if p in names) if names else PROVIDERS


def load_client(spec: str) -> ClientAdapter:
    """'reference' or 'module:factory' -> an adapter instance; UsageError otherwise."""
    target = CLIENTS.get(spec, spec)
    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise pytest.UsageError(
            f"--client {spec!r}: use one of {', '.join(CLIENTS)} or MODULE:FACTORY"
        )
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(
            f"--client {spec!r}: cannot load it ({exc}); valid built-in clients: "
            f"{', '.join(CLIENTS)}, or MODULE:FACTORY"
        ) from None
    adapter = factory()
    if not isinstance(adapter, ClientAdapter):
        raise pytest.UsageError(
            f"--client {spec!r}: the factory returned {type(adapter).__name__}, "
            "not a harness.adapters.base.ClientAdapter"
        )
    return adapter


@dataclass(frozen=True)
class Suite:
    """The run's settings, shared by every spec."""

    adapter: ClientAdapter
    providers: tuple[str, ...]
    record_mode: str
    emulator: bool
    cassette_dir: Path

    @property
    def recording(self) -> bool:
        return self.record_mode != "none"

    def cassette(self, provider: str, scenario: str) -> Path:
        return self.cassette_dir / provider / f"{scenario}.yaml"


ADAPTER_KEY = pytest.StashKey[ClientAdapter]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "parity: a conformance case (scenario, provider, mode)")
    selected_providers(config)  # fail fast on a bad --provider or --client
    config.stash[ADAPTER_KEY] = load_client(config.getoption("client"))
    config.pluginmanager.register(ParityCollector(config), "llm-parity-collector")


@pytest.fixture(scope="session")
def parity_suite(pytestconfig: pytest.Config) -> Suite:
    """The adapter, providers, record mode and cassette directory of this run."""
    cassette_dir = pytestconfig.getoption("cassette_dir")
    return Suite(
        adapter=pytestconfig.stash[ADAPTER_KEY],
        providers=selected_providers(pytestconfig),
        record_mode=pytestconfig.getoption("record_mode"),
        emulator=pytestconfig.getoption("emulator"),
        cassette_dir=Path(cassette_dir) if cassette_dir else pytestconfig.rootpath / "cassettes",
    )


class ParityCollector:
    """One parity row per conformance case (an item with a ``parity`` user property),
    from its setup, call and teardown reports; on the xdist controller too."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.rows: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = dict(report.user_properties)
        case = props.get("parity")
        if case is None:
            return
        row = self.rows.setdefault(report.nodeid, {**case, "outcome": "pass", "duration": 0.0})
        row["duration"] = round(row["duration"] + report.duration, 6)
        if props.get("parity_diff"):
            row["differences"] = props["parity_diff"]
        if report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
            reason = reason.removeprefix("Skipped: ")
            row["outcome"] = "not supported" if reason.startswith("not supported") else "skipped"
            row["reason"] = reason
        elif report.failed:
            row["outcome"] = "fail"
            if "differences" not in row:
                lines = (report.longreprtext or "").strip().splitlines()
                where = "" if report.when == "call" else f"error in {report.when}: "
                row["message"] = where + (lines[-1][:500] if lines else "")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write --parity-json (on the controller only under xdist)."""
        path = self.config.getoption("parity_json")
        if not path or hasattr(self.config, "workerinput"):
            return
        from harness import __version__

        rows = sorted(self.rows.values(), key=lambda r: (r["provider"], r["scenario"], r["mode"]))
        document = {
            "format": "llm-parity/1",
            "version": __version__,
            "client": self.config.getoption("client"),
            "python": platform.python_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "results": rows,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
        temporary.replace(target)
