"""litellm: a finish reason outside OpenAI's four is reported as one of them.

Found by the llm-parity conformance suite (scenario finish_reason_other, every provider),
no upstream issue known. An answer can end for a reason that is none of stop, length,
tool_calls and content_filter: DeepSeek's `insufficient_system_resource` (an
OpenAI-compatible server: the answer was cut because the service ran short), Anthropic's
`pause_turn`, Gemini's `OTHER`, Bedrock's `malformed_model_output`. litellm maps each to
one of OpenAI's four (`map_finish_reason`; an unmapped one logs "Unmapped finish_reason
..., defaulting to 'stop'"), so a caller cannot tell a cut answer from a finished one.

Mechanism checked: a loopback OpenAI-compatible API and a loopback Anthropic API end the
answer with `insufficient_system_resource` and `pause_turn`; `finish_reason` must be
neither `stop` nor `length` (litellm's own value, or any name for "other"). Exit 1 when
it is, 0 otherwise.

    python repro/litellm/unknown_finish_reasons.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

OPENAI_REASON = "insufficient_system_resource"
ANTHROPIC_REASON = "pause_turn"


def openai_answer():
    return {
        "id": "c1",
        "object": "chat.completion",
        "created": 0,
        "model": "deepseek-chat",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Quicksort picks"},
                "finish_reason": OPENAI_REASON,
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


def anthropic_answer():
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Quicksort picks"}],
        "stop_reason": ANTHROPIC_REASON,
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


def serve(answer):
    """A loopback API answering every request with `answer()`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(answer()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main():
    litellm.suppress_debug_info = True
    differ = False
    for model, base, sent in (
        ("openai/deepseek-chat", serve(openai_answer) + "/v1", OPENAI_REASON),
        ("anthropic/claude-sonnet-4-5", serve(anthropic_answer), ANTHROPIC_REASON),
    ):
        response = litellm.completion(
            model=model, api_base=base, api_key="test", messages=[{"role": "user", "content": "Hi"}]
        )
        reported = response.choices[0].finish_reason
        print(f"{model}: the API ended the answer with {sent!r}; litellm reports {reported!r}")
        differ |= reported in ("stop", "length")
    if differ:
        print("BUG: a finish reason outside OpenAI's four is reported as stop or length")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
