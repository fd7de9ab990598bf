"""litellm: the same Gemini answer has reasoning tokens when streamed, none when not.

Found by the llm-parity conformance suite (reasoning_text on Gemini, modes stream and
astream against sync), no upstream issue known. Gemini reports no `thoughtsTokenCount`
for this answer; `completion()` reports no reasoning tokens, `completion(stream=True,
stream_options={"include_usage": True})` reports 8: while streaming, litellm counts the
thought text with its own tokenizer and reports the estimate as the provider's
`completion_tokens_details.reasoning_tokens`.

Mechanism checked: a loopback Gemini API answers with a thought part ("17 * 3 = 51.") and
the text "51", as JSON and as SSE; both calls must report the same reasoning tokens.
Exit 1 when they differ, 0 when equal.

    python repro/litellm/gemini_reasoning_tokens_streamed.py   # litellm 1.110.2: exit 1 (0 vs 8)
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

USAGE = {"promptTokenCount": 15, "candidatesTokenCount": 30, "totalTokenCount": 45}
ANSWER = {
    "candidates": [
        {
            "content": {
                "parts": [{"text": "17 * 3 = 51.", "thought": True}, {"text": "51"}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": USAGE,
    "modelVersion": "gemini-2.5-flash",
    "responseId": "r1",
}
EVENTS = [
    {
        "candidates": [
            {
                "content": {"parts": [{"text": "17 * 3 = 51.", "thought": True}], "role": "model"},
                "index": 0,
            }
        ],
        "usageMetadata": {"promptTokenCount": 15, "totalTokenCount": 15},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    },
    {
        "candidates": [
            {
                "content": {"parts": [{"text": "51"}], "role": "model"},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": USAGE,
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    },
]


def serve():
    """A loopback Gemini API answering the same reply as JSON or as SSE."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if "streamGenerateContent" in self.path:
                data = "".join(f"data: {json.dumps(e)}\r\n\r\n" for e in EVENTS)
                kind = "text/event-stream"
            else:
                data, kind = json.dumps(ANSWER), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta"


def reasoning_tokens(usage):
    details = getattr(usage, "completion_tokens_details", None)
    return getattr(details, "reasoning_tokens", None) or 0


def main():
    litellm.suppress_debug_info = True
    args = {
        "model": "gemini/gemini-2.5-flash",
        "api_base": serve(),
        "api_key": "test",
        "messages": [{"role": "user", "content": "What is 17 * 3? Think first."}],
    }
    plain = reasoning_tokens(litellm.completion(**args).usage)
    streamed = 0
    for chunk in litellm.completion(stream=True, stream_options={"include_usage": True}, **args):
        if getattr(chunk, "usage", None) is not None:
            streamed = reasoning_tokens(chunk.usage)
    print(f"reasoning tokens: completion {plain}, completion(stream=True) {streamed}")
    if plain != streamed:
        print("BUG: the same answer reports other reasoning tokens when streamed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
