"""A dspy.streamify stream created inside a dspy.context() block must run with that
context even when consumed after the block (stanfordnlp/dspy#2044).

``streamify(program)(...)`` returns an async generator; its body (which asyncifies the
program and so copies the settings) only starts at the first iteration. A web handler that
returns the stream from inside ``with dspy.context(lm=...)`` has its framework iterate it
after the block: the program runs on the global settings ("No LM is loaded" in #2044, on
2.6.0). Here a stream is created inside ``context(lm="scoped")`` and consumed after it; the
program reports the model it saw. Settings only, no LM is called.
"""

import asyncio
import sys

import dspy


class Probe(dspy.Module):
    def forward(self, question):
        return dspy.Prediction(answer=str(dspy.settings.lm))


async def consume(stream):
    last = None
    async for value in stream:
        last = value
    return last


def main():
    if not hasattr(dspy, "streamify"):
        print("no dspy.streamify in this release")
        print("VERDICT: ABSENT")
        return 3
    dspy.settings.configure(lm="global")
    streaming = dspy.streamify(Probe())
    with dspy.settings.context(lm="scoped"):
        inside = asyncio.run(consume(streaming(question="q")))
        later = streaming(question="q")
    after = asyncio.run(consume(later))
    print(f"consumed inside the block: the program saw {getattr(inside, 'answer', inside)!r}")
    print(f"created inside, consumed after the block: {getattr(after, 'answer', after)!r}")
    if getattr(inside, "answer", None) != "scoped":
        print("VERDICT: BLOCKED")
        return 2
    bad = after.answer != "scoped"
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
