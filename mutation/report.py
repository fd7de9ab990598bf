"""The survivors report of a mutation session: per module, what ``conformance/`` did not kill.

    python mutation/report.py [--out reports/mutation] [--equivalents mutation/equivalent.toml]

Reads mutmut's results (``mutants/**/*.py.meta``, written by ``mutmut run``; see
``mutation/run.py``) and writes, per mutated module, ``<out>/<module path>.md``: every
mutant that survived (or that no conformance case executes), with its id, location,
status and diff; those listed in ``mutation/equivalent.toml`` apart, with the reason. Plus
``<out>/summary.md`` and ``summary.json``: per module, mutants, equivalents, killed, and
the score = killed / (mutants - equivalents). A mutant counts as killed when the suite
failed (``killed``), hung past mutmut's timeout (``timeout``) or crashed (``segfault``).

An equivalent mutant is named by what it is, not by mutmut's number: the file, the
function, and the text of the lines it removes and adds (whitespace runs collapsed), so
the list survives renumbering; a listed entry no mutant matches any more is reported as
stale.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
KILLED = frozenset({"killed", "timeout", "segfault"})

STATUS_BY_EXIT_CODE: dict[int | None, str] = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    2: "interrupted",
    None: "not checked",
    34: "skipped",
    35: "suspicious",
    36: "timeout",
    37: "caught by type check",
    -24: "timeout",
    24: "timeout",
    152: "timeout",
    255: "timeout",
    -11: "segfault",
    -9: "segfault",
}
"""mutmut's exit codes (``mutmut.stats.status_by_exit_code``); others are 'suspicious'."""


def status_of(code: int | None) -> str:
    return STATUS_BY_EXIT_CODE.get(code, "suspicious")


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Identity:
    """What a mutant is, whatever mutmut numbers it: file, function, lines out, lines in."""

    file: str
    function: str
    before: str
    after: str


@dataclass
class Mutant:
    name: str
    file: str
    function: str
    status: str
    duration: float | None
    diff: str = ""
    line: int | None = None
    equivalent: str | None = None

    @property
    def identity(self) -> Identity:
        removed = [line[1:] for line in self.diff.splitlines() if line.startswith("-")]
        added = [line[1:] for line in self.diff.splitlines() if line.startswith("+")]
        removed = [line for line in removed if not line.startswith("--")]
        added = [line for line in added if not line.startswith("++")]
        return Identity(
            self.file, self.function, squeeze("\n".join(removed)), squeeze("\n".join(added))
        )


@dataclass
class Equivalents:
    """``mutation/equivalent.toml``: reviewed equivalent mutants, each with its reason."""

    reasons: dict[Identity, str] = field(default_factory=dict)
    used: set[Identity] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> Equivalents:
        if not path.exists():
            return cls()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        reasons = {}
        for entry in data.get("equivalent", []):
            identity = Identity(
                entry["file"], entry["function"], squeeze(entry["before"]), squeeze(entry["after"])
            )
            reasons[identity] = entry["reason"]
        return cls(reasons)

    def reason(self, mutant: Mutant) -> str | None:
        identity = mutant.identity
        if identity in self.reasons:
            self.used.add(identity)
            return self.reasons[identity]
        return None

    def stale(self) -> list[Identity]:
        return [identity for identity in self.reasons if identity not in self.used]


def function_of(name: str) -> str:
    """``harness.context.xǁParallelǁ__call____mutmut_3`` -> ``Parallel.__call__``."""
    mangled = name.partition("__mutmut_")[0].rpartition(".")[2]
    if "ǁ" in mangled:
        _, cls, method = mangled.split("ǁ")
        return f"{cls}.{method}"
    return mangled.removeprefix("x_")


def source_file(meta: Path, mutants: Path) -> str:
    return meta.relative_to(mutants).as_posix().removesuffix(".meta")


def load_mutants(mutants: Path) -> list[Mutant]:
    found = []
    for meta in sorted(mutants.rglob("*.py.meta")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        file = source_file(meta, mutants)
        durations = data.get("durations_by_key", {})
        for name, code in sorted(data.get("exit_code_by_key", {}).items(), key=_natural):
            found.append(
                Mutant(name, file, function_of(name), status_of(code), durations.get(name))
            )
    return found


def _natural(item: tuple[str, Any]) -> tuple[str, int]:
    base, _, number = item[0].rpartition("__mutmut_")
    return base, int(number) if number.isdigit() else 0


def add_diffs(mutants: list[Mutant], root: Path) -> None:
    """The diff of each listed mutant (what ``mutmut show`` prints: its function before
    and after), and the line of the original file it changes. Each mutated file under
    ``mutants/`` is parsed once, with ``ast``."""
    generated: dict[str, dict[str, str]] = {}
    sources: dict[str, list[str]] = {}
    trees: dict[str, ast.Module] = {}
    for mutant in mutants:
        if mutant.file not in generated:
            generated[mutant.file] = _functions(root / "mutants" / mutant.file)
        functions = generated[mutant.file]
        own = mutant.name.rpartition(".")[2]
        base = own.partition("__mutmut_")[0]
        name = mutant.function.rpartition(".")[2]
        before = functions.get(base + "__mutmut_orig")
        after = functions.get(own)
        if before is None or after is None:
            mutant.diff = "(no diff: the mutated file has no such function)"
            continue
        before = before.replace(base + "__mutmut_orig", name, 1)
        after = after.replace(own, name, 1)
        mutant.diff = "\n".join(
            difflib.unified_diff(
                before.split("\n"),
                after.split("\n"),
                fromfile=mutant.file,
                tofile=mutant.file,
                lineterm="",
            )
        )
        if mutant.file not in sources:
            text = (root / mutant.file).read_text(encoding="utf-8")
            sources[mutant.file] = text.splitlines()
            trees[mutant.file] = ast.parse(text)
        mutant.line = _line(mutant, sources[mutant.file], trees[mutant.file])


def _functions(path: Path) -> dict[str, str]:
    """Source text of every function and method of a file, by name, dedented."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    found: dict[str, str] = {}
    nodes: list[ast.stmt] = list(tree.body)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            nodes += node.body
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            chunk = "\n".join(lines[start - 1 : node.end_lineno])
            found[node.name] = textwrap.dedent(chunk).strip()
    return found


def _line(mutant: Mutant, lines: list[str], tree: ast.Module) -> int | None:
    start, end = _span(tree, mutant.function)
    removed = [
        line[1:].strip()
        for line in mutant.diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    for text in removed:
        for number in range(start, end + 1):
            if lines[number - 1].strip() == text:
                return number
    return start


def _span(tree: ast.Module, function: str) -> tuple[int, int]:
    cls, _, name = function.rpartition(".")
    nodes: list[ast.stmt] = tree.body
    if cls:
        owner = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
        nodes = owner.body if owner else []
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node.lineno, node.end_lineno or node.lineno
    return 1, 1


def module_summary(mutants: list[Mutant]) -> dict[str, Any]:
    """A module's counts; its score over the mutants the session checked (None when it
    checked none of them: a session limited to other modules, or interrupted)."""
    statuses = Counter(m.status for m in mutants)
    checked = [m for m in mutants if m.status != "not checked"]
    equivalent = sum(1 for m in checked if m.equivalent)
    killed = sum(1 for m in checked if m.status in KILLED)
    relevant = len(checked) - equivalent
    return {
        "mutants": len(mutants),
        "checked": len(checked),
        "equivalent": equivalent,
        "killed": killed,
        "not_killed": relevant - killed,
        "score": (round(100 * killed / relevant, 1) if relevant else 100.0) if checked else None,
        "statuses": dict(sorted(statuses.items())),
    }


def _score(summary: dict[str, Any]) -> str:
    return "not run" if summary["score"] is None else f"{summary['score']}%"


def render_module(file: str, mutants: list[Mutant], summary: dict[str, Any]) -> str:
    lines = [
        f"# Mutation survivors: `{file}`",
        "",
        f"Score {_score(summary)}: {summary['killed']} killed of "
        f"{summary['checked'] - summary['equivalent']} non-equivalent mutants checked "
        f"({summary['mutants']} generated, {summary['checked']} checked, "
        f"{summary['equivalent']} equivalent). Test "
        "command: `pytest conformance/ -x -q -p no:cacheprovider` (mutmut runs the cases "
        "that execute the mutated function).",
        "",
        "Statuses: " + ", ".join(f"{k} {v}" for k, v in summary["statuses"].items()) + ".",
        "",
    ]
    open_ = [
        m
        for m in mutants
        if m.status not in KILLED and m.status != "not checked" and not m.equivalent
    ]
    equivalent = [m for m in mutants if m.equivalent]
    lines += [f"## Not killed ({len(open_)})", ""]
    if not open_:
        lines += ["None.", ""]
    for mutant in open_:
        lines += _entry(file, mutant)
    lines += [f"## Equivalent, reviewed ({len(equivalent)})", ""]
    if not equivalent:
        lines += ["None listed.", ""]
    for mutant in equivalent:
        lines += _entry(file, mutant, reason=mutant.equivalent)
    return "\n".join(lines).rstrip() + "\n"


def _entry(file: str, mutant: Mutant, reason: str | None = None) -> list[str]:
    where = f"{file}:{mutant.line}" if mutant.line else file
    head = f"### `{mutant.name}` ({mutant.status})"
    body = [head, "", f"`{where}`, in `{mutant.function}`", ""]
    if reason:
        body += [f"Equivalent: {reason}", ""]
    body += ["```diff", _diff_body(mutant.diff), "```", ""]
    return body


def _diff_body(diff: str) -> str:
    return "\n".join(line for line in diff.splitlines() if not line.startswith(("---", "+++")))


def render_summary(summaries: dict[str, dict[str, Any]], stale: list[Identity]) -> str:
    total = {
        key: sum(s[key] for s in summaries.values())
        for key in ("mutants", "checked", "equivalent", "killed", "not_killed")
    }
    relevant = total["checked"] - total["equivalent"]
    score = round(100 * total["killed"] / relevant, 1) if relevant else 100.0
    lines = [
        "# Mutation session: summary",
        "",
        "mutmut over `harness/providers/`, `harness/transport.py`, `harness/context.py` and "
        "`harness/tools/`; test command `pytest conformance/ -x -q -p no:cacheprovider` "
        "alone. Score = killed / (checked - equivalent); killed includes timeouts. A module "
        'the session did not check says "not run".',
        "",
        "| module | mutants | checked | equivalent | killed | not killed | no tests | score |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for file, s in summaries.items():
        lines.append(
            f"| [{file}]({Path(file).with_suffix('.md').as_posix()}) | {s['mutants']} | "
            f"{s['checked']} | {s['equivalent']} | {s['killed']} | {s['not_killed']} | "
            f"{s['statuses'].get('no tests', 0)} | {_score(s)} |"
        )
    lines.append(
        f"| **checked, all** | {total['mutants']} | {total['checked']} | {total['equivalent']} | "
        f"{total['killed']} | {total['not_killed']} | "
        f"{sum(s['statuses'].get('no tests', 0) for s in summaries.values())} | {score}% |"
    )
    lines.append("")
    if stale:
        lines += ["## Stale equivalents (no mutant matches them any more)", ""]
        lines += [f"- `{i.file}` `{i.function}`: `{i.before}` -> `{i.after}`" for i in stale]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "mutation")
    parser.add_argument("--equivalents", type=Path, default=ROOT / "mutation" / "equivalent.toml")
    parser.add_argument("--session-seconds", type=float, default=None)
    args = parser.parse_args(argv)

    mutants = load_mutants(args.mutants)
    if not mutants:
        print(f"no mutmut results under {args.mutants}: run mutation/run.py first")
        return 1
    unchecked = [m for m in mutants if m.status == "not checked"]
    listed = [m for m in mutants if m.status not in KILLED and m.status != "not checked"]
    add_diffs(listed, ROOT)
    equivalents = Equivalents.load(args.equivalents)
    for mutant in listed:
        mutant.equivalent = equivalents.reason(mutant)

    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for mutant in mutants:
        by_file[mutant.file].append(mutant)
    summaries = {file: module_summary(items) for file, items in sorted(by_file.items())}
    args.out.mkdir(parents=True, exist_ok=True)
    for file, items in sorted(by_file.items()):
        target = args.out / Path(file).with_suffix(".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_module(file, items, summaries[file]), encoding="utf-8")
    checked_files = {
        f for f, items in by_file.items() if all(m.status != "not checked" for m in items)
    }
    stale = [i for i in equivalents.stale() if i.file in checked_files]  # others: not run
    summary = render_summary(summaries, stale)
    if args.session_seconds is not None:
        summary += f"\nSession time: {args.session_seconds / 60:.1f} min (mutmut run).\n"
    if unchecked:
        summary += (
            f"\n{len(unchecked)} mutants were not checked (the session was limited to some "
            "mutants, or interrupted).\n"
        )
    (args.out / "summary.md").write_text(summary, encoding="utf-8")
    document = {
        "modules": summaries,
        "stale_equivalents": [vars(i) for i in stale],
        "session_seconds": args.session_seconds,
        "not_checked": len(unchecked),
    }
    (args.out / "summary.json").write_text(json.dumps(document, indent=2) + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
