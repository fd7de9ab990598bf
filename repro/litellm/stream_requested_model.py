"""litellm: a stream reports the model asked for, not the model that answered.

Found by the llm-parity conformance suite (every streamed scenario with an answer, on
OpenAI and Anthropic), no upstream issue known. The API names the model that answered
(`gpt-4o-mini-2024-07-18` for `gpt-4o-mini`, `claude-sonnet-4-5-20250929` for
`claude-sonnet-4-5`); `completion()` reports that name in `response.model`, but
`completion(stream=True)` sets every chunk's `model` to the requested name
(`CustomStreamWrapper` writes its own `self.model` over it; only OpenRouter and Azure
keep the provider's name).

Mechanism checked: a loopback OpenAI API and a loopback Anthropic API answer with the
dated model name; the call's and the chunks' `model` must both be that name. Exit 1 when
they differ, 0 when they agree.

    python repro/litellm/stream_requested_model.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"


def openai_answer(stream):
    if not stream:
        return "application/json", {
            "id": "c1", "object": "chat.completion", "created": 0, "model": OPENAI_MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}
    chunks = [{"role": "assistant", "content": "Hi."}, {}]
    events = [{"id": "c1", "object": "chat.completion.chunk", "created": 0,
               "model": OPENAI_MODEL, "choices": [
                   {"index": 0, "delta": d, "finish_reason": "stop" if not d else None}]}
              for d in chunks]
    return "text/event-stream", "".join(f"data: {json.dumps(e)}\n\n" for e in events) + \
        "data: [DONE]\n\n"


def anthropic_answer(stream):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": ANTHROPIC_MODEL,
               "content": [{"type": "text", "text": "Hi."}], "stop_reason": "end_turn",
               "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 2}}
    if not stream:
        return "application/json", message
    start = {**message, "content": [], "stop_reason": None}
    events = [("message_start", {"message": start}),
              ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
              ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": "Hi."}}),
              ("content_block_stop", {"index": 0}),
              ("message_delta", {"delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                 "usage": {"output_tokens": 2}}),
              ("message_stop", {})]
    return "text/event-stream", "".join(
        f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n" for name, data in events)


def serve(answer):
    """A loopback API answering every request with `answer(stream)`."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            kind, data = answer(bool(body.get("stream")))
            data = (data if isinstance(data, str) else json.dumps(data)).encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
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
    for model, base, answered in (
        ("openai/gpt-4o-mini", serve(openai_answer) + "/v1", OPENAI_MODEL),
        ("anthropic/claude-sonnet-4-5", serve(anthropic_answer), ANTHROPIC_MODEL),
    ):
        args = {"model": model, "api_base": base, "api_key": "test",
                "messages": [{"role": "user", "content": "Hi"}]}
        called = litellm.completion(**args).model
        streamed = {chunk.model for chunk in litellm.completion(stream=True, **args)}
        print(f"{model}: the API answered as {answered!r}; completion() reports {called!r}, "
              f"the stream's chunks {sorted(streamed)}")
        differ |= streamed != {called}
    if differ:
        print("BUG: the stream reports the requested model, not the one that answered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
