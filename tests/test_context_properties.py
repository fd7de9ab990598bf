"""Property test: random nestings of contexts, tasks, threads, pools and loops.

Each generated tree is executed for real; every leaf records ``settings().lm`` (and one unit
of usage). The value each leaf must see is computed independently from its path: the
innermost ``context`` override above it, or the process default if a raw thread cut the
path below that override (every other node carries a copy of the context).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from harness.context import (
    ContextThread,
    ContextThreadPoolExecutor,
    Parallel,
    Settings,
    asyncify,
    configure,
    context,
    record_usage,
    settings,
    submit_with_context,
    track_usage,
)
from harness.types import Usage

RAW_THREAD_INHERITS = bool(getattr(sys.flags, "thread_inherit_context", False))

Path = tuple[int, ...]

# Nodes whose children run as sync code in other threads; valid in sync and async code
# (from async code they are blocking calls, which is allowed).
THREADED = ("parallel", "context_pool", "submit_with_context", "raw_thread", "context_thread")


@dataclass(frozen=True)
class Node:
    kind: str
    children: tuple[Node, ...] = ()
    model: str = ""

    def describe(self, indent: str = "") -> str:
        label = f"{self.kind}({self.model})" if self.model else self.kind
        return "\n".join([indent + label, *(c.describe(indent + "  ") for c in self.children)])


MODELS = st.text("abcxyz", min_size=1, max_size=3).map(lambda s: f"lm-{s}")


@functools.cache
def trees(mode: str, depth: int) -> st.SearchStrategy[Node]:
    """Trees valid in ``mode`` ("sync": a thread without a running loop; "async": a coroutine)."""
    leaf = st.just(Node("leaf"))
    if depth == 0:
        return leaf

    def children(child_mode: str) -> st.SearchStrategy[tuple[Node, ...]]:
        return st.lists(trees(child_mode, depth - 1), min_size=1, max_size=3).map(tuple)

    options = [
        leaf,
        st.builds(lambda m, c: Node("override", c, m), MODELS, children(mode)),
        st.builds(Node, st.sampled_from(THREADED), children("sync")),
    ]
    if mode == "sync":
        options.append(st.builds(Node, st.just("new_loop"), children("async")))
    else:
        options.append(st.builds(Node, st.just("task"), children("async")))
        options.append(
            st.builds(Node, st.sampled_from(["to_thread", "asyncify"]), children("sync"))
        )
    return st.one_of(options)


def expected(node: Node, path: Path, current: str, default: str, out: dict[Path, str]) -> None:
    """What each leaf must see, from its path alone."""
    if node.kind == "leaf":
        out[path] = current
    if node.kind == "override":
        current = node.model
    if node.kind == "raw_thread" and not RAW_THREAD_INHERITS:
        current = default
    for i, child in enumerate(node.children):
        expected(child, (*path, i), current, default, out)


def run_sync(node: Node, path: Path, seen: dict[Path, Any]) -> None:
    kids = [(child, (*path, i)) for i, child in enumerate(node.children)]
    if node.kind == "leaf":
        seen[path] = settings().lm
        record_usage(Usage(1, 0))
    elif node.kind == "override":
        with context(lm=node.model):
            for child, child_path in kids:
                run_sync(child, child_path, seen)
    elif node.kind == "parallel":
        Parallel(num_threads=2)([(run_sync, (c, p, seen)) for c, p in kids])
    elif node.kind == "context_pool":
        with ContextThreadPoolExecutor(2) as pool:
            list(pool.map(run_sync, *zip(*kids, strict=True), [seen] * len(kids)))
    elif node.kind == "submit_with_context":
        with ThreadPoolExecutor(2) as pool:
            for future in [submit_with_context(pool, run_sync, c, p, seen) for c, p in kids]:
                future.result()
    elif node.kind in ("raw_thread", "context_thread"):
        cls = threading.Thread if node.kind == "raw_thread" else ContextThread
        threads = [cls(target=run_sync, args=(c, p, seen)) for c, p in kids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elif node.kind == "new_loop":
        asyncio.run(run_async_in_order(kids, seen))
    else:
        raise AssertionError(f"not a sync node: {node.kind}")


run_sync_async = asyncify(run_sync)  # wrapped once: the context is captured per call


async def run_async_in_order(kids: list[tuple[Node, Path]], seen: dict[Path, Any]) -> None:
    for child, child_path in kids:
        await run_async(child, child_path, seen)


async def run_async(node: Node, path: Path, seen: dict[Path, Any]) -> None:
    kids = [(child, (*path, i)) for i, child in enumerate(node.children)]
    if node.kind == "leaf":
        seen[path] = settings().lm
        record_usage(Usage(1, 0))
    elif node.kind == "override":
        with context(lm=node.model):
            await asyncio.sleep(0)  # let sibling tasks interleave inside the block
            await run_async_in_order(kids, seen)
            await asyncio.sleep(0)
    elif node.kind == "task":
        await asyncio.gather(*(asyncio.create_task(run_async(c, p, seen)) for c, p in kids))
    elif node.kind == "to_thread":
        await asyncio.gather(*(asyncio.to_thread(run_sync, c, p, seen) for c, p in kids))
    elif node.kind == "asyncify":
        await asyncio.gather(*(run_sync_async(c, p, seen) for c, p in kids))
    elif node.kind in THREADED:
        run_sync(node, path, seen)  # a blocking call from a coroutine
    else:
        raise AssertionError(f"not an async node: {node.kind}")


ROOTS = st.one_of(
    st.tuples(st.just("sync"), trees("sync", 4)),
    st.tuples(st.just("async"), trees("async", 4)),
)


@hypothesis_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(root=ROOTS, default=MODELS)
def test_every_leaf_sees_the_innermost_override_on_its_path(
    root: tuple[str, Node], default: str
) -> None:
    mode, tree = root
    want: dict[Path, str] = {}
    expected(tree, (), default, default, want)
    seen: dict[Path, Any] = {}
    saved = contextvars.Context().run(settings)
    configure(lm=default)
    try:
        with track_usage() as tracker:
            if mode == "sync":
                run_sync(tree, (), seen)
            else:
                asyncio.run(run_async(tree, (), seen))
    finally:
        configure(**{f.name: getattr(saved, f.name) for f in fields(Settings)})
    assert seen == want, tree.describe()
    assert settings().lm == saved.lm  # nothing leaked into the caller
    # every leaf's usage reached the root tracker, except across a raw-thread cut
    reachable = sum(RAW_THREAD_INHERITS or "raw_thread" not in _kinds_above(tree, p) for p in want)
    assert tracker.total == Usage(reachable, 0), tree.describe()


def _kinds_above(tree: Node, path: Path) -> list[str]:
    kinds, node = [], tree
    for index in path:
        kinds.append(node.kind)
        node = node.children[index]
    return kinds


def test_no_thread_outlives_the_property_run() -> None:
    baseline = threading.active_count()
    test_every_leaf_sees_the_innermost_override_on_its_path()
    deadline = time.monotonic() + 5
    while threading.active_count() > baseline and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() <= baseline
