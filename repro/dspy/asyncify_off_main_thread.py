"""asyncify must work when called off the main thread: from an event loop in a user
thread, or nested in a program asyncify already runs (no upstream issue number known).

2.5.31-2.5.35 asserted the caller was the main thread id, 2.5.36-2.5.43 asserted
``threading.current_thread() is threading.main_thread()``; 2.6.0 (#1947) dropped the
assertion and copies the caller's overrides. Each call here must also use its caller's
settings: the process default in the user thread, the outer block when nested.
Settings only, no LM is called. (In 2.5.30 the worker cannot read the settings at all:
``user_thread_settings.py``; reported here as BLOCKED.)
"""

import asyncio
import sys
import threading

import dspy


def read():
    return dspy.settings.lm


def asyncified(fn):
    return asyncio.run(dspy.asyncify(fn)())


def attempt(fn):
    try:
        return fn()
    except Exception as error:
        return error


def main():
    if not hasattr(dspy, "asyncify"):
        print("no dspy.asyncify in this release")
        print("VERDICT: ABSENT")
        return 3
    dspy.settings.configure(lm="default")
    box = []
    thread = threading.Thread(target=lambda: box.append(attempt(lambda: asyncified(read))))
    thread.start()
    thread.join()
    with dspy.settings.context(lm="outer"):
        nested = attempt(lambda: asyncified(lambda: attempt(lambda: asyncified(read))))
    seen = {"from a user thread's event loop": (box[0], "default"),
            "nested in asyncify's worker": (nested, "outer")}
    refused = other = False
    for where, (got, expected) in seen.items():
        print(f"{where}: {got!r} (expected {expected!r})")
        if isinstance(got, AssertionError) and "main thread" in str(got):
            refused = True
        elif got != expected:
            other = True
    verdict, code = ("BUG", 1) if refused else ("BLOCKED", 2) if other else ("OK", 0)
    print(f"VERDICT: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
