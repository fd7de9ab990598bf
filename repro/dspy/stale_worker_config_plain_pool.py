"""A plain ThreadPoolExecutor's reused worker must read the configuration current at each
task (the plain-executor half of stanfordnlp/dspy#1766).

Through 2.5.29, and again in 2.5.32-2.5.35 (the settings rewrite of #1810/#1813 reverted),
any thread copied the settings the first time it read them and kept that copy: a worker
reused after ``configure(lm=second)`` still saw ``first``. 2.5.31 read the main settings
live, 2.5.36+ read the process config at each access. (In 2.5.30 the read raises:
``user_thread_settings.py``; reported here as BLOCKED.)

One worker, one task after each of two ``configure`` calls. Settings only, no LM is called.
"""

import sys
from concurrent.futures import ThreadPoolExecutor

import dspy


def read():
    return dspy.settings.lm


def main():
    got = {}
    with ThreadPoolExecutor(max_workers=1) as pool:
        for lm in ("first", "second"):
            dspy.settings.configure(lm=lm)
            try:
                got[lm] = pool.submit(read).result()
            except Exception as error:
                print(f"reading the settings in a plain worker raised {error!r}")
                print("VERDICT: BLOCKED")
                return 2
            print(f"after configure(lm={lm!r}), the reused worker saw {got[lm]!r}")
    bad = any(seen != lm for lm, seen in got.items())
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
