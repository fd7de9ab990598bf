"""litellm: a mocked stream yields the same chunks from acompletion as from completion.

BerriAI/litellm#4168 ("Async Streaming Mock is different to sync streaming mock", June
2024): with `mock_response=` and `stream=True`, `completion` streamed the mock text piece
by piece, while `acompletion` put the whole text in the delta of a chunk (and repeated
it). Mechanism checked: the delta contents of both streams, in order, must be equal and
join to the mock text. No request leaves the process. Exit 1 when they differ, 0 when
equal, 3 when the release cannot mock a stream.
"""

import asyncio
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download
import litellm

TEXT = "The quick brown fox jumps over the lazy dog."
ARGS = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "Say something"}],
        "mock_response": TEXT, "stream": True}


def deltas(chunks):
    found = [c.choices[0].delta for c in chunks if c.choices]
    found = [d.get("content") if isinstance(d, dict) else d.content for d in found]  # 1.14: dict
    return [content for content in found if content]


async def astream():
    return [chunk async for chunk in await litellm.acompletion(**ARGS)]


def main():
    try:
        sync = deltas(list(litellm.completion(**ARGS)))
    except Exception as exc:
        print(f"completion(stream=True, mock_response=...) failed: {type(exc).__name__}: {exc}")
        return 3
    try:
        asynced = deltas(asyncio.run(astream()))
    except Exception as exc:
        print(f"BUG: acompletion(stream=True, mock_response=...) raised {exc!r}")
        return 1
    print(f"completion : {len(sync)} deltas {sync[:4]}...")
    print(f"acompletion: {len(asynced)} deltas {asynced[:4]}...")
    if asynced != sync or "".join(sync) != TEXT:
        print("BUG: the async stream's deltas differ from the sync stream's")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
