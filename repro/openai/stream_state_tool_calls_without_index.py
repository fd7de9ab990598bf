"""openai: ChatCompletionStreamState fails on streamed tool calls that carry no index.

Found by the suite's `stream_whole_tool_calls` scenario (issue 13). Some
OpenAI-compatible servers stream each tool call whole, in one delta, without the
`index` that OpenAI's own chunks carry. The SDK's accumulator indexes its list of calls
with `tool_call.index` and raises TypeError (not an `openai` error) on `None`; the chunks
themselves parse (`ChoiceDeltaToolCall.index` is read without validation).

Mechanism checked: a loopback server streams one delta holding two whole tool calls
without `index`; the chunks are fed to a fresh `ChatCompletionStreamState()`. Exit 1
when that raises, 0 when the snapshot holds the two calls.
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
    calls = [
        {
            "id": f"call_{i}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }
        for i, city in enumerate(["Lagos", "Nairobi"])
    ]
    events = [
        {
            **base(),
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "tool_calls": calls},
                    "finish_reason": None,
                }
            ],
        },
        {**base(), "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    ]
    try:
        snapshot = accumulate(events)
    except Exception as exc:
        print(f"DIFFERENCE: the stream state raised {type(exc).__name__}: {exc}")
        return 1
    calls = snapshot.choices[0].message.tool_calls or []
    print(f"calls: {[(c.function.name, c.function.arguments) for c in calls]}")
    return 0 if len(calls) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
