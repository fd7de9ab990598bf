"""Adapters with a framework program of their own, without DSPy (tests/test_programs.py).

``FieldMarkerProgram`` is the reference client with a ``program`` written the way DSPy's
``Predict("question -> answer")`` talks to a chat model: a system prompt of its own
wording, the question in a ``[[ ## question ## ]]`` user turn, the answer parsed from the
``[[ ## answer ## ]]`` field. ``UnparsedProgram`` forgets to parse: its text is the raw
completion, which the ``program`` scenario must refuse.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from harness.adapters.reference import ReferenceAdapter
from harness.lm import LM
from harness.types import Message, Response

SYSTEM = "Answer the `question` field with an `answer` field."  # not DSPy's wording
USER = (
    "[[ ## question ## ]]\n{question}\n\nRespond with the corresponding output fields, "
    "starting with the field `[[ ## answer ## ]]`, and then ending with the marker for "
    "`[[ ## completed ## ]]`."
)
ANSWER = re.compile(r"\[\[ ## answer ## \]\]\n(.*?)\n\n\[\[ ## completed ## \]\]", re.S)


class FieldMarkerProgram(ReferenceAdapter):
    name = "field-marker-program"

    def supports(self, feature: str, provider: str) -> bool:
        return feature in ("program", "aprogram") or super().supports(feature, provider)

    def _prompt(self, messages: Sequence[Message], params: dict[str, Any]) -> list[Message]:
        assert not params and len(messages) == 1, "one question, no parameters"
        return [Message.system(SYSTEM), Message.user(USER.format(question=messages[0].content))]

    def parse(self, response: Response) -> Response:
        found = ANSWER.search(response.text)
        return replace(response, text=found.group(1) if found else "")

    def program(self, client: LM, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        return self.parse(client(self._prompt(messages, params)))

    async def aprogram(
        self, client: LM, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        return self.parse(await client.acall(self._prompt(messages, params)))


class UnparsedProgram(FieldMarkerProgram):
    name = "unparsed-program"

    def parse(self, response: Response) -> Response:
        return response
