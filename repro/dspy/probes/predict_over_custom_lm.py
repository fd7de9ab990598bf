"""Probe for adapter authors (not a bug check): can a ``dspy.Predict`` run, sync and async,
over an LM that hands the request to someone else (here: a canned reply, in the adapter:
``harness.lm.LM``), on this release?

A ``dspy.LM`` subclass that overrides ``__call__`` (and ``acall`` where DSPy has async
programs) is the one shape every release from 2.5.29 accepts: 2.5.x routes only
``dspy.LM`` instances through the adapters, 2.6.0-2.6.x asserts ``isinstance(lm, dspy.LM)``,
later releases accept any ``dspy.BaseLM``. Prints what ran; exit 0 when the sync path
works.
"""

import asyncio
import sys

import dspy

REPLY = "[[ ## answer ## ]]\n{}\n\n[[ ## completed ## ]]"


class Delegating(dspy.LM):
    def __init__(self, name):
        super().__init__(f"openai/{name}")
        self.requests = []

    def __call__(self, prompt=None, messages=None, **kwargs):
        self.requests.append(messages or prompt)
        return [REPLY.format(self.model)]

    async def acall(self, prompt=None, messages=None, **kwargs):
        return self(prompt=prompt, messages=messages, **kwargs)


def main():
    lm = Delegating("scoped")
    dspy.settings.configure(lm=Delegating("default"))
    predict = dspy.Predict("question -> answer")
    with dspy.settings.context(lm=lm):
        answer = predict(question="Say hi").answer
    print(f"sync Predict inside context(lm=scoped): {answer!r}, messages sent: "
          f"{[m['role'] for m in lm.requests[0]] if lm.requests else None}")
    if hasattr(predict, "acall"):
        async def run():
            with dspy.settings.context(lm=lm):
                return (await predict.acall(question="Say hi")).answer
        print(f"async Predict.acall: {asyncio.run(run())!r}")
    else:
        print("async: no Predict.acall in this release (use dspy.asyncify(predict))")
    return 0 if answer == "openai/scoped" else 1


if __name__ == "__main__":
    sys.exit(main())
