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


seen = []


class Probe(dspy.Module):
    def forward(self, question):
        seen.append(read())
        return dspy.Prediction(answer="-")


def through_evaluate():
    devset = [dspy.Example(question=f"q{i}").with_inputs("question") for i in range(3)]
    seen.clear()
    dspy.Evaluate(devset=devset, metric=lambda *a, **k: True, num_threads=2,
                  display_progress=False)(Probe())
    return list(seen)


def main():
    dspy.settings.configure(lm="default")
    runs = {}
    with dspy.settings.context(lm="scoped"):
        if hasattr(dspy, "Parallel"):
            parallel = dspy.Parallel(num_threads=2, disable_progress_bar=True)
            runs["Parallel"] = list(parallel([(read, ()) for _ in range(3)]))
        runs["Evaluate"] = through_evaluate()
        if hasattr(dspy, "asyncify"):
            try:
                runs["asyncify"] = [asyncio.run(dspy.asyncify(read)())]
            except Exception as error:
                runs["asyncify"] = [error]
    errors = [g for got in runs.values() for g in got if isinstance(g, Exception)]
    for where, got in runs.items():
        print(f"{where}: {got}")
    if errors:
        print("VERDICT: BLOCKED")
        return 2
    bad = any(g != "scoped" for got in runs.values() for g in got)
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
