"""openai: a 200 answer that is an HTML page is returned as a str, without an error.

Found by the suite's `malformed_answer_html` scenario (issue 13). A 200 answer whose body
is not JSON (a captive portal's or a proxy's HTML page, `text/html`) makes
`chat.completions.create()` return the body's text as a `str` in place of a
`ChatCompletion`; no `openai` error is raised, and a caller reading
`completion.choices` fails later with AttributeError.

Mechanism checked: a loopback server answers 200 with an HTML page. Exit 1 when
`create()` returns without raising, 0 when it raises an `openai.OpenAIError`.
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
    page = "<html><body><h1>Welcome to the guest network</h1></body></html>"
    client = openai.OpenAI(api_key="sk-test", base_url=serve(page, "text/html"), max_retries=0)
    try:
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
        )
    except openai.OpenAIError as exc:
        print(f"an openai error: {type(exc).__name__}: {exc}")
        return 0
    print(f"DIFFERENCE: returned {type(completion).__name__}: {completion!r:.60}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
