"""openai: ChatCompletionStreamState fails on Azure OpenAI's content-filter annotations.

Found by the suite's `stream_azure_filter_chunks` scenario (issue 13). With its
asynchronous content filter, Azure OpenAI ends a stream with annotation chunks whose
choice has `content_filter_results` and no `delta`, and `id`, `model`, `object` empty
(openai/openai-python#1677, open: the SDK types `delta` as never null). The SDK's
accumulator reads `choice.delta` and raises AttributeError (not an `openai` error).

Mechanism checked: a loopback server streams an answer, then one annotation chunk; the
chunks are fed to a fresh `ChatCompletionStreamState()`. Exit 1 when that raises, 0
when the snapshot holds the answer.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


def serve(events, content_type="text/event-stream"):
    """A loopback Chat Completions server answering every request with ``events``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if content_type == "text/event-stream":
                text = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            else:
                text = events if isinstance(events, str) else json.dumps(events)
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


def base(model="gpt-4o-mini-2024-07-18"):
    return {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}


def stream_state():
    from openai.lib.streaming.chat import ChatCompletionStreamState

    return ChatCompletionStreamState()


def accumulate(events, **request):
    """Feed the SDK's stream of ``events`` to a fresh ``ChatCompletionStreamState``."""
    client = openai.OpenAI(api_key="sk-test", base_url=serve(events), max_retries=0)
    state = stream_state()
    with client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello"}],
        stream=True,
        **request,
    ) as stream:
        for chunk in stream:
            state.handle_chunk(chunk)
    return state.current_completion_snapshot


def main():
    filtered = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "violence")}
    events = [
        {
            **base(),
            "choices": [
                {"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}
            ],
        },
        {**base(), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
        {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [{"index": 0, "finish_reason": None, "content_filter_results": filtered}],
        },
    ]
    try:
        snapshot = accumulate(events)
    except Exception as exc:
        print(f"DIFFERENCE: the stream state raised {type(exc).__name__}: {exc}")
        return 1
    print(f"snapshot: {snapshot.choices[0].message.content!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
