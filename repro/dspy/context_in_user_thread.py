"""Entering dspy.context() inside a thread the user created must work
(the 2.5.31 RuntimeError/AssertionError "unsupported way of creating threads";
permitted again by stanfordnlp/dspy#1852).

#1813 (2.5.31) let user threads read the settings but asserted, in ``configure`` and so in
``context()``, that the thread was one DSPy had registered. This enters a block in a
``threading.Thread`` and in asyncify's worker: it must not raise, must apply inside, and
must be undone on exit without reaching the main thread.

Settings only, no LM is called. A release where the plain read already raises (2.5.30,
``user_thread_settings.py``) is reported as BLOCKED.
"""

import asyncio
import sys
import threading

import dspy


def scoped_here(lm):
    try:
        outside = dspy.settings.lm
    except Exception as error:
        return "read", error
    try:
        with dspy.settings.context(lm=lm):
            inside = dspy.settings.lm
    except Exception as error:
        return "context", error
    return "ok", (inside, dspy.settings.lm, outside)


def in_thread(fn):
    box = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    thread.join()
    return box[0]


def main():
    dspy.settings.configure(lm="default")
    results = {}
    if hasattr(dspy, "asyncify"):  # first: see reused_thread_id.py (2.5.32-2.5.35)
        try:
            results["asyncify worker"] = asyncio.run(dspy.asyncify(lambda: scoped_here("inner"))())
        except Exception as error:
            results["asyncify worker"] = ("read", error)
    results["threading.Thread"] = in_thread(lambda: scoped_here("scoped"))
    bug = blocked = False
    for where, (stage, got) in results.items():
        if stage == "read":
            print(f"{where}: reading the settings raised {got!r}")
            blocked = True
        elif stage == "context":
            print(f"{where}: entering context() raised {got!r}")
            bug = True
        else:
            inside, after, before = got
            print(f"{where}: inside {inside!r}, after {after!r} (before {before!r})")
            bug = bug or inside not in ("scoped", "inner") or after != before
    main_after = dspy.settings.lm
    print(f"main thread afterwards: {main_after!r}")
    bug = bug or main_after != "default"
    verdict, code = ("BUG", 1) if bug else ("BLOCKED", 2) if blocked else ("OK", 0)
    print(f"VERDICT: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
