"""llm: answers of OpenAI-compatible servers that llm's OpenAI models misread.

Found by the llm-parity conformance suite (issue 13: refusal_as_text, two_choices,
stream_whole_tool_calls, stream_azure_filter_chunks, malformed_answer_html,
malformed_answer_no_choices, malformed_chunk_not_json, malformed_chunk_choices_object);
no upstream issue known.
Each shape is served by a loopback Chat Completions server to `llm.get_model("gpt-4o-mini")`
(OPENAI_BASE_URL pointing at it) and the result compared with what the suite expects:

- refusal: `content` null and `refusal` set: the answer's text is the refusal (llm: "");
- two choices streamed, alternating (a server's n=2): the text is the first choice's
  (llm appends every chunk's first listed choice, whatever its index);
- two tool calls streamed whole in one delta without `index`: two calls (llm joins their
  arguments into one text and raises json.JSONDecodeError);
- Azure OpenAI's content-filter annotation chunk (a choice without `delta`,
  openai/openai-python#1677): the answer stands (llm raises AttributeError);
- a 200 HTML page, a completion without `choices`, a stream event that is not JSON, a
  chunk whose `choices` is an object: an `openai.OpenAIError` (llm raises AttributeError,
  the SDK's json.JSONDecodeError or KeyError instead).

Exit 1 when any shape differs, 0 when none does.

    python repro/llm/openai_compatible_shapes.py   # llm 0.36: exit 1
"""

import json
import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import llm
import openai

MODEL = "gpt-4o-mini-2024-07-18"
ANSWER = {"served": None}


def serve():
    """A loopback server answering every request with ``ANSWER["served"]``:
    (content type, JSON value or text, streamed)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            content_type, value, streamed = ANSWER["served"]
            if streamed:
                events = [e if isinstance(e, str) else json.dumps(e) for e in value]
                text = "".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n"
            else:
                text = value if isinstance(value, str) else json.dumps(value)
            data = text.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1"


def chunk(delta, index=0, finish=None, **extra):
    choice = {"index": index, "delta": delta, "finish_reason": finish}
    head = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL}
    return {**head, "choices": [choice], **extra}


def completion(message, **extra):
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    head = {"id": "c1", "object": "chat.completion", "created": 0, "model": MODEL}
    usage = {"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}
    return {**head, "choices": [choice], "usage": usage, **extra}


SSE, JSON = "text/event-stream", "application/json"
CALLS = [
    {
        "id": f"call_{i}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
    }
    for i, city in enumerate(["Lagos", "Nairobi"])
]
FILTERED = {"hate": {"filtered": False, "severity": "safe"}}
SHAPES = [
    (
        "refusal",
        (
            JSON,
            completion(
                {"role": "assistant", "content": None, "refusal": "I can't help with that."}
            ),
            False,
        ),
        "text",
        "I can't help with that.",
    ),
    (
        "two choices",
        (
            SSE,
            [
                chunk({"role": "assistant", "content": ""}),
                chunk({"role": "assistant", "content": ""}, index=1),
                chunk({"content": "Blue."}),
                chunk({"content": "Red."}, index=1),
                chunk({}, finish="stop"),
                chunk({}, index=1, finish="stop"),
            ],
            True,
        ),
        "text",
        "Blue.",
    ),
    (
        "whole tool calls",
        (
            SSE,
            [chunk({"role": "assistant", "tool_calls": CALLS}), chunk({}, finish="tool_calls")],
            True,
        ),
        "calls",
        [("get_weather", {"city": "Lagos"}), ("get_weather", {"city": "Nairobi"})],
    ),
    (
        "azure annotation",
        (
            SSE,
            [
                chunk({"role": "assistant", "content": "Hi"}),
                chunk({}, finish="stop"),
                {
                    "id": "",
                    "object": "",
                    "created": 0,
                    "model": "",
                    "choices": [
                        {"index": 0, "finish_reason": None, "content_filter_results": FILTERED}
                    ],
                },
            ],
            True,
        ),
        "text",
        "Hi",
    ),
    ("html page", ("text/html", "<html><body>Welcome</body></html>", False), "error", None),
    (
        "no choices",
        (JSON, {"id": "c1", "object": "chat.completion", "created": 0, "model": MODEL}, False),
        "error",
        None,
    ),
    (
        "chunk not JSON",
        (SSE, [chunk({"role": "assistant", "content": "Hel"}), '{"id":"c1","ch'], True),
        "error",
        None,
    ),
    (
        "choices object",
        (
            SSE,
            [
                chunk({"role": "assistant", "content": "Hel"}),
                {**chunk({}), "choices": {"index": 0, "delta": {"content": "lo"}}},
            ],
            True,
        ),
        "error",
        None,
    ),
]


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"


def main():
    os.environ.update(LLM_USER_PATH=tempfile.mkdtemp(), OPENAI_API_KEY="sk-test")
    os.environ["OPENAI_BASE_URL"] = serve()
    model = llm.get_model("gpt-4o-mini")
    differ = 0
    for name, served, kind, wanted in SHAPES:
        ANSWER["served"] = served
        options = {"tools": [get_weather]} if kind == "calls" else {}
        try:
            response = model.prompt("Hello", stream=served[2], **options)
            text = response.text()
            got = text if kind == "text" else None
            if kind == "calls":
                got = [(call.name, call.arguments) for call in response.tool_calls()]
            if kind == "error":
                got = f"no error (text {text!r})"
        except openai.OpenAIError as exc:
            got = None if kind == "error" else f"{type(exc).__name__}: {exc}"
        except Exception as exc:
            got = f"{type(exc).__name__}: {exc}"
        if got != wanted:
            differ += 1
            print(f"DIFFERENCE {name}: expected {wanted!r}, got {got!r}")
        else:
            print(f"same       {name}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
