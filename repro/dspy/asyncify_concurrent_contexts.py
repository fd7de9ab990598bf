"""asyncify's worker must run with the caller's context, even after a sibling coroutine
left its own block (stanfordnlp/dspy#1867, "No LM is loaded", 2.5.40).

In 2.5.40-2.5.43, ``context()`` on the main thread wrote its overrides into the global
config and, on exit, put back the snapshot it took on entry; ``asyncify`` passed nothing
to its worker, which read that global config when it ran. With several coroutines each
doing ``with dspy.context(lm=...): await asyncify(program)(...)``, a sibling leaving its
block reset the global config under a worker still running: the first calls worked, then
"No LM is loaded". Reported working on 2.5.32-2.5.39.

Deterministic interleaving, one model for everyone (so that this is not the tasks-overwrite
bug, ``concurrent_tasks_overwrite.py``): the sibling enters its block first, the caller
enters its block and awaits ``asyncify(program)``; while the worker waits, the sibling
leaves its block; then the worker reads ``dspy.settings.lm``. It must be the model.
Settings only, no LM is called.
"""

import asyncio
import sys
import threading

import dspy


async def scenario():
    started, release = threading.Event(), threading.Event()
    sibling_in = asyncio.Event()

    def program():
        started.set()
        release.wait(10)
        return dspy.settings.lm

    async def sibling():
        with dspy.settings.context(lm="model"):
            sibling_in.set()
            while not started.is_set():
                await asyncio.sleep(0.01)
        release.set()

    async def caller():
        await sibling_in.wait()
        with dspy.settings.context(lm="model"):
            return await dspy.asyncify(program)()

    results = await asyncio.gather(caller(), sibling(), return_exceptions=True)
    release.set()
    return results[0]


def main():
    if not hasattr(dspy, "asyncify"):
        print("no dspy.asyncify in this release")
        print("VERDICT: ABSENT")
        return 3
    dspy.settings.configure(lm=None)
    got = asyncio.run(scenario())
    print(f"the worker saw {got!r} (expected 'model')")
    if isinstance(got, BaseException):
        print("VERDICT: BLOCKED")
        return 2
    bad = got != "model"
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
