"""Per-task overhead of the harness.context primitives against the bare mechanisms.

    python bench/bench_context.py [--tasks 20000] [--repeats 5] [--threads 8]

Each row times the same trivial program run ``--tasks`` times through the bare mechanism
and through the harness primitive (alternating, best of ``--repeats``), inside an active
``context()`` so the context copies are real. Pools are created and shut down inside the
timed region on both sides (``Parallel``/``batch`` make one pool per call).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness.context import (
    ContextThreadPoolExecutor,
    Parallel,
    asyncify,
    batch,
    configure,
    context,
    track_usage,
)

TARGET_US = 50.0


def program(x: int) -> int:
    return x


def best_of(
    repeats: int, bare: Callable[[], Any], harness: Callable[[], Any]
) -> tuple[float, float]:
    best_bare = best_harness = float("inf")
    for _ in range(repeats):
        for run, is_bare in ((bare, True), (harness, False)):
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            if is_bare:
                best_bare = min(best_bare, elapsed)
            else:
                best_harness = min(best_harness, elapsed)
    return best_bare, best_harness


def async_rows(tasks: int, repeats: int) -> list[tuple[str, float, float]]:
    wrapped = asyncify(program)

    async def gather(make: Callable[[int], Awaitable[int]], n: int) -> float:
        start = time.perf_counter()
        await asyncio.gather(*(make(i) for i in range(n)))
        return time.perf_counter() - start

    async def one_by_one(make: Callable[[int], Awaitable[int]], n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await make(i)
        return time.perf_counter() - start

    def bare(i: int) -> Awaitable[int]:
        return asyncio.to_thread(program, i)

    async def main() -> list[tuple[str, float, float]]:
        await gather(bare, 200)  # start the default executor's threads
        rows = []
        for label, runner, n in (
            ("asyncify vs asyncio.to_thread (gather)", gather, tasks),
            ("asyncify vs asyncio.to_thread (one by one)", one_by_one, tasks // 4),
        ):
            best_bare = best_harness = float("inf")
            for _ in range(repeats):
                best_bare = min(best_bare, await runner(bare, n))
                best_harness = min(best_harness, await runner(wrapped, n))
            rows.append((label, best_bare / n, best_harness / n))
        return rows

    return asyncio.run(main())


def pool_rows(tasks: int, repeats: int, threads: int) -> list[tuple[str, float, float]]:
    numbers = list(range(tasks))
    inputs = [(i,) for i in numbers]
    pairs = [(program, (i,)) for i in numbers]

    def bare() -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(program, numbers))

    def with_batch() -> None:
        batch(program, inputs, num_threads=threads, progress=False)

    def with_parallel() -> None:
        Parallel(threads, progress=False)(pairs)

    def with_context_pool() -> None:
        with ContextThreadPoolExecutor(threads) as pool:
            list(pool.map(program, numbers))

    rows = []
    for label, harness in (
        ("batch vs ThreadPoolExecutor.map", with_batch),
        ("Parallel vs ThreadPoolExecutor.map", with_parallel),
        ("ContextThreadPoolExecutor.map vs .map", with_context_pool),
    ):
        best_bare, best_harness = best_of(repeats, bare, harness)
        rows.append((label, best_bare / tasks, best_harness / tasks))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    configure(lm="bench-default", temperature=0.0)
    with context(lm="bench-override", max_tokens=64), track_usage():
        rows = async_rows(args.tasks, args.repeats)
        rows += pool_rows(args.tasks, args.repeats, args.threads)

    print(f"{args.tasks} tasks, best of {args.repeats}, {args.threads} threads for pools\n")
    header = f"{'mechanism':<44}{'bare us/task':>14}{'harness us/task':>17}{'diff us/task':>14}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for label, bare, harness in rows:
        diff = (harness - bare) * 1e6
        worst = max(worst, diff)
        print(f"{label:<44}{bare * 1e6:>14.2f}{harness * 1e6:>17.2f}{diff:>+14.2f}")
    verdict = "within" if worst <= TARGET_US else "OVER"
    print(f"\nworst difference {worst:+.2f} us/task: {verdict} the {TARGET_US:.0f} us target")


if __name__ == "__main__":
    main()
