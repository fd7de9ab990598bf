"""DSPy's own primitives must run the work with the caller's context (the 2.6 contract,
stanfordnlp/dspy#1947: a dspy.context() propagates to threads started by Parallel,
asyncify, Evaluate...).

Inside ``context(lm="scoped")`` on the main thread, with ``configure(lm="default")``,
``dspy.Parallel`` (2.5.30+), ``dspy.Evaluate`` and ``dspy.asyncify`` (2.5.30+) each run a
program that reads ``dspy.settings.lm``: every run must see "scoped". What a raw
``threading.Thread`` sees is another rule: ``main_context_in_user_threads.py``.
Settings only, no LM is called.
"""

import asyncio
import sys

import dspy


def read():
    return dspy.settings.lm


class Probe(dspy.Module):
    seen = []

    def forward(self, question):
        Probe.seen.append(read())
        return dspy.Prediction(answer="-")


def through_evaluate():
    devset = [dspy.Example(question=f"q{i}").with_inputs("question") for i in range(3)]
    Probe.seen = []
    dspy.Evaluate(devset=devset, metric=lambda *a, **k: True, num_threads=2,
                  display_progress=False)(Probe())
    return Probe.seen


def main():
    dspy.settings.configure(lm="default")
    seen = {}
    with dspy.settings.context(lm="scoped"):
        if hasattr(dspy, "Parallel"):
            parallel = dspy.Parallel(num_threads=2, disable_progress_bar=True)
            seen["Parallel"] = list(parallel([(read, ()) for _ in range(3)]))
        seen["Evaluate"] = through_evaluate()
        if hasattr(dspy, "asyncify"):
            try:
                seen["asyncify"] = [asyncio.run(dspy.asyncify(read)())]
            except Exception as error:
                seen["asyncify"] = [error]
    errors = [g for runs in seen.values() for g in runs if isinstance(g, Exception)]
    for where, runs in seen.items():
        print(f"{where}: {runs}")
    if errors:
        print("VERDICT: BLOCKED")
        return 2
    bad = any(g != "scoped" for runs in seen.values() for g in runs)
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
