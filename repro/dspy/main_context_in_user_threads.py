"""A context() block on the main thread must not change what the user's own threads see
(DSPy 2.6's contract, stanfordnlp/dspy#1947: a thread the user starts sees the global
configuration; only DSPy's primitives carry the caller's overrides).

Split out of the catalogue's ``user_thread_settings`` (thread mode) and
``context_leak_after_exit`` ("during the block"): through 2.5.43, ``context()`` on the
main thread pushed onto the main settings stack (2.5.29-2.5.35) or rewrote the global
config for the length of the block (2.5.36-2.5.43), so a ``threading.Thread`` started
inside the block, or one already running that read the settings during it, saw the
override. 2.6.0 keeps overrides per thread and never touches the global config.

Settings only, no LM is called. (In 2.5.30 any read raises: ``user_thread_settings.py``.)
"""

import sys
import threading

import dspy


def read():
    try:
        return dspy.settings.lm
    except Exception as error:
        return error


def main():
    dspy.settings.configure(lm="default")
    inside, done, box = threading.Event(), threading.Event(), {}

    def running_before():
        inside.wait(10)
        box["thread started before the block, reading during it"] = read()
        done.set()

    early = threading.Thread(target=running_before)
    early.start()
    with dspy.settings.context(lm="scoped"):
        late = threading.Thread(
            target=lambda: box.update({"thread started inside the block": read()})
        )
        late.start()
        late.join()
        inside.set()
        done.wait(10)
    early.join()
    if any(isinstance(got, Exception) for got in box.values()):
        print(f"reading the settings in a user thread raised: {box}")
        print("VERDICT: BLOCKED")
        return 2
    for where, got in box.items():
        print(f"{where}: {got!r} (the contract: 'default')")
    bad = any(got != "default" for got in box.values())
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
