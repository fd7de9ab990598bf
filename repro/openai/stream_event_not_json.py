"""openai: a stream event that is not JSON raises json.JSONDecodeError, not an openai error.

Found by the suite's `malformed_chunk_not_json` scenario (issue 13). A streamed answer
with an event whose data is not JSON (a chunk cut short) makes the SDK's stream raise
the `json.JSONDecodeError` of its own decoding, which a caller catching `openai.APIError`
for a bad answer does not catch.

Mechanism checked: a loopback server streams one chunk, then `data: {"id":"c1","ch`.
Exit 1 when something other than an `openai.OpenAIError` is raised, 0 otherwise.
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
    client = openai.OpenAI(api_key="sk-test", base_url=serve_raw(), max_retries=0)
    try:
        with client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}], stream=True
        ) as stream:
            for _ in stream:
                pass
    except openai.OpenAIError as exc:
        print(f"an openai error: {type(exc).__name__}: {exc}")
        return 0
    except Exception as exc:
        print(f"DIFFERENCE: raised {type(exc).__module__}.{type(exc).__name__}: {exc}")
        return 1
    print("no error")
    return 0


def serve_raw():
    """A loopback server streaming a chunk, then an event that is not JSON."""
    first = {
        **base(),
        "choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}],
    }
    text = f"data: {json.dumps(first)}\n\n" + 'data: {"id":"c1","ch\n\n' + "data: [DONE]\n\n"

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = text.encode()
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


if __name__ == "__main__":
    sys.exit(main())
