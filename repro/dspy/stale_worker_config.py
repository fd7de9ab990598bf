"""dspy.Evaluate must run on the configuration current at each run, even after the user's
own thread pool has come and gone (stanfordnlp/dspy#1766).

The report: a plain ``ThreadPoolExecutor`` ran the program first; then ``configure(lm=a)``,
``Evaluate``, ``configure(lm=b)``, ``Evaluate`` scored the same model twice. Through
2.5.29 (and again 2.5.32-2.5.35) the settings were a dict of stacks keyed by thread id: a
thread that read them got a copy of the main settings of that moment, and the entry was
never removed. New threads (``Evaluate``'s) that reused the ids of the dead pool threads
inherited those stale copies. 2.5.30 runs ``Evaluate`` through ``ParallelExecutor``
(#1690), which gives each task the caller's settings; in 2.5.32-2.5.35 its check that the
thread id is new fails instead (``reused_thread_id.py``), reported here as BLOCKED.

Settings only, no LM is called. Thread ids are reused by the C library, not promised:
the script prints whether the ids were reused.
"""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import dspy

THREADS = 4
seen, idents = [], set()


def read(_=None):
    idents.add(threading.get_ident())
    return dspy.settings.lm


class Probe(dspy.Module):
    def forward(self, question):
        seen.append(read())
        return dspy.Prediction(answer="-")


def evaluate():
    devset = [dspy.Example(question=f"q{i}").with_inputs("question") for i in range(8)]
    seen.clear()
    dspy.Evaluate(devset=devset, metric=lambda *a, **k: True, num_threads=THREADS,
                  display_progress=False, max_errors=100)(Probe())
    return list(seen)


def main():
    dspy.settings.configure(lm="user-pool")
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(read, range(2 * THREADS)))
    except Exception as error:
        print(f"reading the settings in a plain pool raised {error!r}")
        print("VERDICT: BLOCKED")
        return 2
    pool_idents = set(idents)
    idents.clear()
    bad = blocked = False
    for lm in ("first", "second"):
        dspy.settings.configure(lm=lm)
        try:
            got = evaluate()
        except Exception as error:
            got = [error]
        print(f"after configure(lm={lm!r}): Evaluate's tasks saw {got}")
        bad = bad or any(g != lm for g in got if not isinstance(g, Exception))
        blocked = blocked or len(got) < 8 or any(isinstance(g, Exception) for g in got)
    print(f"Evaluate's threads reused {len(idents & pool_idents)} of the {len(pool_idents)} "
          f"thread ids of the dead pool; some tasks failed: {blocked}")
    verdict, code = ("BUG", 1) if bad else ("BLOCKED", 2) if blocked else ("OK", 0)
    print(f"VERDICT: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
