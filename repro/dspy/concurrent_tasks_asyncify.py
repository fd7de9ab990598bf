"""Twenty coroutines, each in its own dspy.context(), awaiting asyncify together must each
get their own model (the catalogue's ``asyncify_concurrent_contexts`` spec as written).

This is the report of stanfordnlp/dspy#8197 ("race conditions using asyncify with this
context manager"): the tasks share one per-thread override store, so asyncify hands each
worker whatever block was entered last. It is kept to check the catalogue's claim; the
mechanism is the one of ``concurrent_tasks_overwrite.py`` (in 2.5.40-2.5.43 the one of
``asyncify_concurrent_contexts.py`` adds to it). Settings only, no LM is called.
"""

import asyncio
import sys

import dspy

TASKS = 20


async def one(index):
    with dspy.settings.context(lm=f"task{index}"):
        await asyncio.sleep(0)  # every coroutine enters its block before any worker runs
        return await dspy.asyncify(lambda: dspy.settings.lm)()


async def scenario():
    return await asyncio.gather(*(one(i) for i in range(TASKS)), return_exceptions=True)


def main():
    if not hasattr(dspy, "asyncify"):
        print("no dspy.asyncify in this release")
        print("VERDICT: ABSENT")
        return 3
    dspy.settings.configure(lm=None)
    got = asyncio.run(scenario())
    errors = [g for g in got if isinstance(g, BaseException)]
    wrong = [i for i, g in enumerate(got) if g != f"task{i}"]
    print(f"seen: {got}")
    print(f"{len(wrong)} of {TASKS} coroutines got another model, {len(errors)} raised")
    if errors:
        print("VERDICT: BLOCKED")
        return 2
    print("VERDICT: BUG" if wrong else "VERDICT: OK")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
