"""litellm: answers of OpenAI-compatible servers that litellm misreads (OpenAI models).

Found by the llm-parity conformance suite (issue 13: refusal_as_text, two_choices,
error_plain_text_body, error_detail_body, malformed_answer_html,
malformed_answer_no_choices, malformed_chunk_not_json, malformed_chunk_choices_object);
no upstream issue known. Each shape is served by a loopback Chat Completions server to
`litellm.completion(model="openai/gpt-4o-mini", api_base=...)` and the result compared
with what the suite expects:

- a refusal (`content` null, `refusal` set), streamed or not: the answer's text is the
  refusal (litellm: "");
- two choices streamed, alternating (a server's n=2): the text is the first choice's
  (litellm appends every chunk's first listed choice, whatever its index);
- a 404 whose body is plain text, or FastAPI's `{"detail": "Not Found"}`: the message
  carries it (litellm's message is only `Error code: 404`);
- a 200 HTML page, a completion without `choices`, a stream event that is not JSON: an
  error with no HTTP status (litellm raises them as HTTP 500, `status_code` 500, which
  its callers' retry logic then treats as a server failure).

Exit 1 when any shape differs, 0 when none does.

    python repro/litellm/openai_compatible_shapes.py   # litellm 1.110.2: exit 1
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import litellm

MODEL = "gpt-4o-mini-2024-07-18"
ANSWER = {"served": None}


def serve():
    """A loopback server answering every request with ``ANSWER["served"]``:
    (content type, JSON value or text, streamed)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            content_type, value, streamed, status = (*ANSWER["served"], 200)[:4]
            if streamed:
                events = [e if isinstance(e, str) else json.dumps(e) for e in value]
                text = "".join(f"data: {e}\n\n" for e in events) + "data: [DONE]\n\n"
            else:
                text = value if isinstance(value, str) else json.dumps(value)
            data = text.encode()
            self.send_response(status)
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
        "refusal streamed",
        (
            SSE,
            [
                chunk({"role": "assistant", "content": None, "refusal": ""}),
                chunk({"refusal": "I can't help with that."}),
                chunk({}, finish="stop"),
            ],
            True,
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
        "plain-text 404",
        ("text/plain", "404 page not found", False, 404),
        "error",
        "404 page not found",
    ),
    ("FastAPI 404", (JSON, {"detail": "Not Found"}, False, 404), "error", "Not Found"),
    ("html page", ("text/html", "<html><body>Welcome</body></html>", False), "status", None),
    (
        "no choices",
        (JSON, {"id": "c1", "object": "chat.completion", "created": 0, "model": MODEL}, False),
        "status",
        None,
    ),
    (
        "chunk not JSON",
        (SSE, [chunk({"role": "assistant", "content": "Hel"}), '{"id":"c1","ch'], True),
        "status",
        None,
    ),
]


def main():
    base_url = serve()
    differ = 0
    for name, served, kind, wanted in SHAPES:
        ANSWER["served"] = served
        try:
            response = litellm.completion(
                model="openai/gpt-4o-mini",
                api_base=base_url,
                api_key="sk-test",
                messages=[{"role": "user", "content": "Hello"}],
                stream=served[2],
                num_retries=0,
                max_retries=0,
            )
            if served[2]:
                text = "".join(c.choices[0].delta.content or "" for c in response if c.choices)
            else:
                text = response.choices[0].message.content or ""
            got = text if kind == "text" else f"no error (text {text!r})"
        except Exception as exc:
            status = getattr(exc, "status_code", None)
            message = str(getattr(exc, "message", exc))
            if kind == "error":
                got = wanted if message.endswith(f"- {wanted}") else message
            elif kind == "status":  # no HTTP status was received: none should be reported
                got = None if status is None else f"{type(exc).__name__} status {status}: {message}"
            else:
                got = f"{type(exc).__name__}: {message}"
        if got != wanted:
            differ += 1
            print(f"DIFFERENCE {name}: expected {wanted!r}, got {got!r}")
        else:
            print(f"same       {name}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
