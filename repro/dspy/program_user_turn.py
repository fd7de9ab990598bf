"""A one-field ``dspy.Predict`` over a custom LM, in the modes of the ``program_question``
scenario: which modes run on this release, and the exact messages DSPy sends.

Not one upstream issue: the evidence for the scenario's rows in the compatibility matrix.
A ``dspy.LM`` subclass records the messages of each call and answers with the field
markers; the Predict ("question -> answer") is asked "Which is the largest planet?" in
each mode, always inside ``context(lm=...)``, through the primitives the DSPy adapter
uses: sync, ``Predict.acall`` (async; 2.6.19 on), thread_pool (``dspy.Parallel`` over one
program; 2.5.29, which has no ``Parallel``: ``dspy.Evaluate`` over one example),
``dspy.asyncify`` (2.5.30 on), parallel (the same primitive over three copies). Each mode
must answer "Jupiter." with a user turn equal, character for character, to the one the
cassette ``cassettes/openai/program_question.yaml`` holds (the system prompt is printed,
not compared: it is DSPy's own wording). No network, no litellm call.

Exit 0 (OK) when every mode this release has runs and sends that user turn; 1 (BUG) when
a mode raises or sends another user turn (printed with the difference).
"""

import asyncio
import difflib
import sys

import dspy

QUESTION = "Which is the largest planet?"
USER_TURN = (
    "[[ ## question ## ]]\n"
    "Which is the largest planet?\n\n"
    "Respond with the corresponding output fields, starting with the field "
    "`[[ ## answer ## ]]`, and then ending with the marker for `[[ ## completed ## ]]`."
)
REPLY = "[[ ## answer ## ]]\nJupiter.\n\n[[ ## completed ## ]]"


class Recording(dspy.LM):
    def __init__(self):
        super().__init__("openai/harness-delegate")
        self.sent = []

    def __call__(self, prompt=None, messages=None, **kwargs):
        self.sent.append(
            messages if messages is not None else [{"role": "user", "content": prompt}]
        )
        return [REPLY]

    async def acall(self, prompt=None, messages=None, **kwargs):
        return self(prompt=prompt, messages=messages, **kwargs)


def main():
    predict = dspy.Predict("question -> answer")
    lm = Recording()

    def in_context():
        with dspy.settings.context(lm=lm):
            return predict(question=QUESTION)

    modes = {"sync": in_context}
    if hasattr(predict, "acall"):

        async def acall():
            with dspy.settings.context(lm=lm):
                return await predict.acall(question=QUESTION)

        modes["async"] = lambda: asyncio.run(acall())

    def primitive(copies):  # the adapter's submit (one copy) and parallel (three)
        with dspy.settings.context(lm=lm):
            if hasattr(dspy, "Parallel"):
                return dspy.Parallel(num_threads=2, disable_progress_bar=True)(
                    [(lambda: predict(question=QUESTION), ())] * copies
                )[-1]

            class Program(dspy.Module):  # 2.5.29: dspy.Evaluate's own pool
                def forward(self, question):
                    return predict(question=question)

            devset = [dspy.Example(question=QUESTION).with_inputs("question")] * copies
            _, results = dspy.Evaluate(
                devset=devset,
                metric=lambda *_: True,
                num_threads=2,
                display_progress=False,
                return_outputs=True,
            )(Program())
            return results[-1][1]

    modes["thread_pool"] = lambda: primitive(1)
    if hasattr(dspy, "asyncify"):

        async def asyncified():
            with dspy.settings.context(lm=lm):
                return await dspy.asyncify(lambda: predict(question=QUESTION))()

        modes["asyncify"] = lambda: asyncio.run(asyncified())
    modes["parallel"] = lambda: primitive(3)

    bad = False
    for name, run in modes.items():
        before = len(lm.sent)
        try:
            answer = run().answer
        except Exception as error:
            print(f"{name}: raised {type(error).__name__}: {error}")
            bad = True
            continue
        messages = lm.sent[before] if len(lm.sent) > before else []
        user = [m["content"] for m in messages if m.get("role") == "user"]
        system = [m["content"] for m in messages if m.get("role") == "system"]
        same = user == [USER_TURN]
        print(
            f"{name}: answer {answer!r}, {len(messages)} messages, user turn "
            f"{'as recorded' if same else 'DIFFERS'}"
        )
        if not same:
            bad = True
            for line in difflib.unified_diff(
                USER_TURN.splitlines(),
                "\n".join(user).splitlines(),
                "recorded",
                "sent",
                lineterm="",
            ):
                print("    " + line)
        if answer != "Jupiter.":
            bad = True
        if name == "sync":
            print(f"  system prompt: {system!r}")
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
