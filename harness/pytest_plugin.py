"""pytest plugin (entry point ``pytest11``): options, the suite fixture, parity results.

pytest --pyargs conformance                  the shipped suite, the reference client
pytest conformance/                          the same, from a clone of the repository
pytest conformance/ --provider bedrock       only Bedrock (repeatable, or a,b)
pytest conformance/ --client openai-sdk      a registered adapter (llm_parity.adapters)
pytest conformance/ --client pkg.mod:make    another client, through its adapter
pytest conformance/ --record-mode=once       record missing cassettes (real keys)
pytest conformance/ --record-mode=rewrite --emulator   re-record against the emulator
pytest conformance/ --parity-json out.json   machine-readable results
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.base import ClientAdapter
from harness.cassettes.match import STRICT, RequestMatcher
from harness.providers import PROVIDERS

RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
MATCH_MODES = ("semantic", "strict")
ADAPTER_GROUP = "llm_parity.adapters"
"""The entry-point group naming adapters: ``NAME = "module:factory"``."""


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
        help="the client under test: an adapter's name (entry-point group "
        f"{ADAPTER_GROUP}, e.g. reference, openai-sdk) or MODULE:FACTORY returning a "
        "ClientAdapter (MODULE is found from the rootdir too)",
    )
    if importlib.util.find_spec("pytest_recording") is None:
        # pytest-recording defines the same option (same dest, same modes): share it.
        group.addoption(
            "--record-mode",
            default=None,
            choices=RECORD_MODES,
            help="vcrpy record mode; 'none' (default) replays only, 'rewrite' re-records",
        )
    group.addoption(
        "--emulator",
        action="store_true",
        help="when recording, answer from the built-in provider emulator instead of the network",
    )
    group.addoption(
        "--match",
        default=None,
        choices=MATCH_MODES,
        help="how replayed requests match recorded ones: 'semantic' (what they mean; the "
        "default for other clients) or 'strict' (canonical JSON; the reference client's)",
    )
    group.addoption(
        "--cassette-dir", default=None, help="default: the cassettes shipped with the suite"
    )
    group.addoption("--parity-json", default=None, help="write per-case parity results here")


def selected_providers(config: pytest.Config) -> tuple[str, ...]:
    """The providers named by --provider (all when the option is not given)."""
    values = config.getoption("provider")
    names = [n.strip() for value in values for n in value.split(",")]
    names = [n for n in names if n]
    if values and not names:
        raise pytest.UsageError(
            f"--provider: no provider named; choose from {', '.join(PROVIDERS)}"
        )
    unknown = sorted(set(names) - set(PROVIDERS))
    if unknown:
        raise pytest.UsageError(
            f"--provider: unknown provider(s) {', '.join(unknown)}; "
            f"choose from {', '.join(PROVIDERS)}"
        )
    return tuple(p for p in PROVIDERS if p in names) if names else PROVIDERS


def record_mode(config: pytest.Config) -> str:
    """--record-mode, 'none' when not given (pytest-recording's default is None too)."""
    return str(config.getoption("record_mode") or "none")


def adapter_names() -> dict[str, str]:
    """Registered adapters: entry-point name -> ``module:factory``."""
    return {ep.name: ep.value for ep in entry_points(group=ADAPTER_GROUP)}


def load_client(spec: str, rootdir: Path | None = None) -> ClientAdapter:
    """An adapter's name or 'module:factory' -> an adapter instance; UsageError otherwise.

    A MODULE is imported as pytest imports tests: from ``sys.path``, and from ``rootdir``.
    """
    registered = adapter_names()
    known = ", ".join(sorted(registered)) or "(none registered)"
    target = registered.get(spec, spec)
    module_name, sep, factory_name = target.partition(":")
    if not sep or not module_name or not factory_name:
        raise pytest.UsageError(
            f"--client {spec!r}: not a registered adapter ({known}) nor MODULE:FACTORY"
        )
    if rootdir is not None and str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise pytest.UsageError(
            f"--client {spec!r}: cannot load {target} ({type(exc).__name__}: {exc}); "
            f"registered adapters: {known}, or MODULE:FACTORY"
        ) from None
    if not callable(factory):
        raise pytest.UsageError(f"--client {spec!r}: {target} is not callable")
    try:
        adapter = factory()
    except Exception as exc:
        hint = ""
        if isinstance(exc, ImportError):
            hint = f" (is the library installed? pip install 'llm-parity[{spec}]')"
        raise pytest.UsageError(
            f"--client {spec!r}: {target}() raised {type(exc).__name__}: {exc}{hint}"
        ) from None
    if not isinstance(adapter, ClientAdapter):
        raise pytest.UsageError(
            f"--client {spec!r}: {target}() returned {type(adapter).__name__}, "
            "not a harness.adapters.base.ClientAdapter"
        )
    return adapter


def check_parity_json(value: str | None) -> None:
    """Refuse a --parity-json path that cannot be written, before any test runs."""
    if not value:
        return
    path = Path(value)
    if path.is_dir():
        raise pytest.UsageError(f"--parity-json {value}: is a directory; name a file in it")
    parent = path.parent if str(path.parent) else Path(".")
    existing = next((p for p in (parent, *parent.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise pytest.UsageError(f"--parity-json {value}: {existing} is not a directory")
    writable = os.access(path, os.W_OK) if path.exists() else os.access(existing, os.W_OK)
    if not writable:
        raise pytest.UsageError(
            f"--parity-json {value}: not writable; choose a path in a writable directory"
        )


def shipped_cassettes() -> Path:
    """The cassettes shipped with the ``conformance`` package (or this checkout's)."""
    import conformance

    return conformance.CASSETTES


@dataclass(frozen=True)
class Suite:
    """The run's settings, shared by every spec, and a cache for the session."""

    adapter: ClientAdapter
    providers: tuple[str, ...]
    record_mode: str
    emulator: bool
    cassette_dir: Path
    match: str
    packaged_cassettes: bool = True
    cache: dict[Any, Any] = field(default_factory=dict, compare=False)
    """Per-session results shared by specs (recordings made, baseline outcomes)."""

    @property
    def recording(self) -> bool:
        return self.record_mode != "none"

    def cassette(self, provider: str, scenario: str) -> Path:
        return self.cassette_dir / provider / f"{scenario}.yaml"

    def matcher(
        self,
        *,
        params: frozenset[str] = frozenset(),
        opaque_tool_results: frozenset[str] = frozenset(),
        json_tool_results: frozenset[str] = frozenset(),
        opaque_system: bool = False,
    ) -> RequestMatcher:
        """The request matcher of this run, told what the spec sets."""
        if self.match == "strict":
            return STRICT
        from harness.cassettes.semantic import SemanticOptions, semantic_matcher

        return semantic_matcher(
            SemanticOptions(params, opaque_tool_results, json_tool_results, opaque_system)
        )


ADAPTER_KEY = pytest.StashKey[ClientAdapter]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker and the collector; validate every option before a test runs."""
    config.addinivalue_line("markers", "parity: a conformance case (scenario, provider, mode)")
    selected_providers(config)
    check_parity_json(config.getoption("parity_json"))
    if config.getoption("emulator") and record_mode(config) == "none":
        raise pytest.UsageError(
            "--emulator answers recordings: use it with --record-mode=rewrite (or once)"
        )
    config.stash[ADAPTER_KEY] = load_client(config.getoption("client"), config.rootpath)
    config.pluginmanager.register(ParityCollector(config), "llm-parity-collector")


@pytest.fixture(scope="session")
def parity_suite(pytestconfig: pytest.Config) -> Suite:
    """The adapter, providers, record mode and cassette directory of this run."""
    cassette_dir = pytestconfig.getoption("cassette_dir")
    adapter = pytestconfig.stash[ADAPTER_KEY]
    return Suite(
        adapter=adapter,
        providers=selected_providers(pytestconfig),
        record_mode=record_mode(pytestconfig),
        emulator=pytestconfig.getoption("emulator"),
        cassette_dir=Path(cassette_dir) if cassette_dir else shipped_cassettes(),
        match=pytestconfig.getoption("match") or adapter.request_matching,
        packaged_cassettes=cassette_dir is None,
    )


def client_identity(adapter: ClientAdapter) -> dict[str, str | None]:
    """The adapter's name, the library it wraps and that library's installed version."""
    version = None
    if adapter.library:
        try:
            version = metadata.version(adapter.library)
        except metadata.PackageNotFoundError:
            version = None
    return {"client": adapter.name, "client_library": adapter.library, "client_version": version}


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
        elif report.failed and props.get("parity_leaked"):
            row["outcome"] = "leaked"  # another spec's leftovers, not this spec's failure
            row["leaked_from"] = props["parity_leaked"]
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
            **client_identity(self.config.stash[ADAPTER_KEY]),
            "match": self.config.getoption("match")
            or self.config.stash[ADAPTER_KEY].request_matching,
            "python": platform.python_version(),
            "cassettes": str(self.config.getoption("cassette_dir") or shipped_cassettes()),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "results": rows,
        }
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(target.suffix + ".tmp")
        temporary.write_text(json.dumps(document, indent=2, default=str) + "\n")
        temporary.replace(target)
