"""litellm: `num_retries` retries a 429 at once, whatever Retry-After says.

Found by the llm-parity conformance suite (retry_after_wait on Anthropic, Gemini and
Bedrock), no upstream issue known. On these providers litellm's retries are its own
`num_retries` loop (on OpenAI it hands them to the OpenAI SDK, which honours the
header). A 429 saying `Retry-After: 1` is retried a few milliseconds later, sync and
async, so a caller that follows litellm's retries hits the rate limit again.

Mechanism checked: a loopback Anthropic, Gemini and Bedrock Converse API answer the first
request of each call with HTTP 429 and `Retry-After: 1`, the next with an answer; with
`num_retries=2` the second request must come at least 1 s after the first. Exit 1 when
one comes sooner, 0 otherwise (3 when a call does not retry at all: is tenacity
installed?).

    python repro/litellm/retry_after_ignored.py   # litellm 1.110.2: exit 1
"""

import asyncio
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

ANSWERS = {  # (error body, error headers, answer) of each provider
    "anthropic": ({"type": "error", "error": {"type": "rate_limit_error", "message": "slow"}},
                  {}, {"id": "msg_1", "type": "message", "role": "assistant",
                       "model": "claude-sonnet-4-5", "content": [{"type": "text", "text": "Hi."}],
                       "stop_reason": "end_turn", "stop_sequence": None,
                       "usage": {"input_tokens": 3, "output_tokens": 2}}),
    "gemini": ({"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED"}},
               {}, {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi."}]},
                                    "finishReason": "STOP", "index": 0}],
                    "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2,
                                      "totalTokenCount": 5}}),
    "bedrock": ({"message": "slow"},
                {"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/"},
                {"output": {"message": {"role": "assistant", "content": [{"text": "Hi."}]}},
                 "stopReason": "end_turn", "metrics": {"latencyMs": 1},
                 "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}}),
}
ARGS = {
    "anthropic": {"model": "anthropic/claude-sonnet-4-5", "api_key": "test"},
    "gemini": {"model": "gemini/gemini-2.5-flash", "api_key": "test"},
    "bedrock": {"model": "bedrock/converse/us.amazon.nova-micro-v1:0",
                "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "x",
                "aws_region_name": "us-east-1"},
}


def serve(provider, times):
    """A loopback API: 429 with Retry-After 1 to the first request, then answers."""
    error, headers, answer = ANSWERS[provider]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            times.append(time.monotonic())
            first = len(times) == 1
            data = json.dumps(error if first else answer).encode()
            self.send_response(429 if first else 200)
            for name, value in {**headers, "Retry-After": "1"}.items() if first else ():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    return base + "/v1beta" if provider == "gemini" else base


def main():
    litellm.suppress_debug_info = True
    soon = False
    for provider, mode in (("anthropic", "sync"), ("anthropic", "async"),
                           ("gemini", "sync"), ("bedrock", "sync")):
        times = []
        args = {**ARGS[provider], "api_base": serve(provider, times), "num_retries": 2,
                "messages": [{"role": "user", "content": "Hi"}]}
        if mode == "sync":
            litellm.completion(**args)
        else:
            asyncio.run(litellm.acompletion(**args))
        if len(times) != 2:
            print(f"{provider} {mode}: {len(times)} request(s), no retry")
            return 3
        waited = times[1] - times[0]
        print(f"{provider:9} {mode:5}: 429 with Retry-After 1 s, "
              f"retried after {waited * 1000:.0f} ms")
        soon |= waited < 1
    if soon:
        print("BUG: the retry does not wait as long as Retry-After says")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
