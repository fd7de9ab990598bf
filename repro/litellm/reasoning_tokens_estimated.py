"""litellm: Anthropic and Bedrock answers with thinking report reasoning tokens the API never gave.

Found by the llm-parity conformance suite (reasoning_text on Anthropic and Bedrock, every
mode), no upstream issue known. Neither the Anthropic Messages API nor Bedrock Converse
reports a reasoning-token count: their usage is input and output tokens only. litellm
counts the thinking text with its own tokenizer and reports the estimate as
`usage.completion_tokens_details.reasoning_tokens` (8 for "17 * 3 = 51."), as if the
provider had said so.

Mechanism checked: a loopback Anthropic API and a loopback Bedrock Converse API each
answer with a thinking block and usage {input 15, output 30}; `completion()` must report
no reasoning tokens. Exit 1 when either reports some, 0 when neither does.

    python repro/litellm/reasoning_tokens_estimated.py   # litellm 1.110.2: exit 1 (8 and 8)
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

THINKING = "17 * 3 = 51."
ANTHROPIC = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [
        {"type": "thinking", "thinking": THINKING, "signature": "c2ln"},
        {"type": "text", "text": "51"},
    ],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 15, "output_tokens": 30},
}
BEDROCK = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": THINKING, "signature": "c2ln"}}},
                {"text": "51"},
            ],
        }
    },
    "stopReason": "end_turn",
    "usage": {"inputTokens": 15, "outputTokens": 30, "totalTokens": 45},
    "metrics": {"latencyMs": 1},
}


def serve(answer):
    """A loopback server answering every POST with `answer` (JSON)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(answer).encode()
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


def reasoning_tokens(model, answer, **options):
    response = litellm.completion(
        model=model,
        api_base=serve(answer),
        messages=[{"role": "user", "content": "17 * 3?"}],
        **options,
    )
    details = response.usage.completion_tokens_details
    return getattr(details, "reasoning_tokens", None) or 0


def main():
    litellm.suppress_debug_info = True
    found = {
        "anthropic": reasoning_tokens("anthropic/claude-sonnet-4-5", ANTHROPIC, api_key="test"),
        "bedrock": reasoning_tokens(
            "bedrock/converse/us.amazon.nova-micro-v1:0",
            BEDROCK,
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="x",
            aws_region_name="us-east-1",
        ),
    }
    print(f"reasoning tokens reported (the APIs reported none): {found}")
    if any(found.values()):
        print("BUG: litellm reports an estimate of its own as the provider's reasoning tokens")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
