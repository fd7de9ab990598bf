"""Concurrent asyncio tasks must each see only their own dspy.context()
(stanfordnlp/dspy#8197, fixed by #8203 in 3.0.0).

Where the overrides live in a per-thread store (the main settings stack of 2.5.29-2.5.35,
the ``threading.local`` of 2.5.40-2.6.27), every task of the event loop's thread shares
it: a task reads the block its sibling entered last, and leaving blocks in another order
than entering them restores a sibling's overrides. 2.5.36-2.5.39 (a ContextVar) and 3.0.0+
(a ContextVar again) give each task its own copy.

Six tasks each enter ``context(lm=task<i>)``, yield, read ``dspy.settings.lm``, sleep for
different times, read again and leave; then the parent task reads it. Settings only.
"""

import asyncio
import sys

import dspy

TASKS = 6


async def one(index):
    with dspy.settings.context(lm=f"task{index}"):
        await asyncio.sleep(0)  # every sibling enters its block
        before = dspy.settings.lm
        await asyncio.sleep(0.002 * ((TASKS - index) % 3))  # leave in another order
        after = dspy.settings.lm
    return before, after


async def scenario():
    results = await asyncio.gather(*(one(i) for i in range(TASKS)))
    return results, dspy.settings.lm


def main():
    dspy.settings.configure(lm="default")
    results, parent = asyncio.run(scenario())
    wrong = 0
    for index, (before, after) in enumerate(results):
        own = f"task{index}"
        wrong += (before != own) + (after != own)
        print(f"task{index}: before {before!r}, after {after!r}")
    print(f"parent task afterwards: {parent!r} (expected 'default')")
    bad = wrong > 0 or parent != "default"
    print(f"{wrong} of {2 * TASKS} reads saw another task's context")
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
