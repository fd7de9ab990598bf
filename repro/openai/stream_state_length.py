"""openai: ChatCompletionStreamState.get_final_completion() raises on a length-cut stream.

Found while writing the openai-sdk adapter (issue 10); not a suite failure (the adapter
reads `current_completion_snapshot` instead). `ChatCompletionStreamState` is the SDK's
documented way to accumulate the chunks of `chat.completions.create(stream=True)` into a
`ChatCompletion`. For an answer cut by `max_completion_tokens` (finish_reason "length")
its `get_final_completion()` raises `LengthFinishReasonError`, even when the request
asked for no structured output and no strict tools, so there is nothing to parse; the
same request not streamed returns the completion with finish_reason "length".

Mechanism checked: a loopback Chat Completions server streams "Once upon a" with
finish_reason "length"; the chunks are fed to a fresh `ChatCompletionStreamState()`.
Exit 1 when `get_final_completion()` raises, 0 when it returns the completion, 3 when the
release has no `ChatCompletionStreamState`.
"""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


def serve():
    """A loopback Chat Completions server streaming an answer cut by the token limit."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            base = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
            }
            deltas = [({"role": "assistant", "content": "Once upon a"}, None), ({}, "length")]
            events = [
                {**base, "choices": [{"index": 0, "delta": d, "finish_reason": f}]}
                for d, f in deltas
            ]
            events.append(
                {
                    **base,
                    "choices": [],
                    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
                }
            )
            data = (
                "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1"


def main():
    try:
        from openai.lib.streaming.chat import ChatCompletionStreamState
    except ImportError:
        return 3
    client = openai.OpenAI(api_key="sk-test", base_url=serve(), max_retries=0)
    state = ChatCompletionStreamState()
    with client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Write a long story."}],
        max_completion_tokens=3,
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        for chunk in stream:
            state.handle_chunk(chunk)
    snapshot = state.current_completion_snapshot
    print(
        f"snapshot: {snapshot.choices[0].message.content!r}, "
        f"finish_reason {snapshot.choices[0].finish_reason!r}"
    )
    try:
        final = state.get_final_completion()
    except openai.LengthFinishReasonError as exc:
        print(f"DIFFERENCE: get_final_completion() raised {type(exc).__name__}: {exc}")
        return 1
    print(f"get_final_completion(): {final.choices[0].message.content!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
