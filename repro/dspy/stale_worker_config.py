"""dspy.Evaluate's worker threads must use the configuration current at each run
(stanfordnlp/dspy#1766).

Through DSPy 2.5.29, ``Evaluate`` ran the program on a plain ``ThreadPoolExecutor`` and
each worker thread copied the settings the first time it read them, keyed by thread id and
never dropped; ``configure(lm=a)``, evaluate, ``configure(lm=b)``, evaluate again ran the
second evaluation on ``a``. From 2.5.30 ``Evaluate`` goes through DSPy's
``ParallelExecutor`` (#1690), which gives each task the caller's settings.

This evaluates a program that records ``dspy.settings.lm`` after two ``configure`` calls
and inside two ``context`` blocks: every task must see the model current at that moment.
Settings only, no LM is called. (The same rule for a plain executor the user owns is
``stale_worker_config_plain_pool.py``.)
"""

import sys

import dspy

seen = []


class Probe(dspy.Module):
    def forward(self, question):
        seen.append(dspy.settings.lm)
        return dspy.Prediction(answer="-")


def evaluate():
    devset = [dspy.Example(question=f"q{i}").with_inputs("question") for i in range(6)]
    run = dspy.Evaluate(devset=devset, metric=lambda *a, **k: True, num_threads=2,
                        display_progress=False)
    seen.clear()
    run(Probe())
    return list(seen)


def main():
    bad = False
    for step, configured, override in (
        ("after configure(first)", "first", None),
        ("after configure(second)", "second", None),
        ("inside context(override-a)", "second", "override-a"),
        ("inside context(override-b)", "second", "override-b"),
    ):
        dspy.settings.configure(lm=configured)
        if override is None:
            got = evaluate()
        else:
            with dspy.settings.context(lm=override):
                got = evaluate()
        expected = override or configured
        wrong = [lm for lm in got if lm != expected]
        bad = bad or bool(wrong) or not got
        print(f"{step}: expected {expected!r}, tasks saw {got}")
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
