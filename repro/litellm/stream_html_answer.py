"""litellm: a stream answered 200 by an HTML page is a finished, empty answer.

Found by the llm-parity conformance suite (stream_answer_html, stream_answer_unlabelled),
no upstream issue known. A captive portal or a proxy answers a streamed request 200 with
an HTML page (labelled `text/html`, or with no content type). On OpenAI (through the
openai SDK, whose stream yields no chunk: `repro/openai/stream_html_answer.py`),
Anthropic and Gemini, `completion(stream=True)` raises nothing and its chunks add up to an
empty answer with `finish_reason="stop"`, as if the model had answered "" and finished.
(Bedrock's event-stream decoder does reject the page, as HTTP 500: "Checksum
mismatch", which is `connection_errors_as_500.py`'s kind of difference.)

Mechanism checked: a loopback server answers every request 200 with an HTML page,
labelled `text/html`; one `completion(stream=True)` per provider (`openai/`,
`anthropic/`, `gemini/`), read to the end. Exit 1 when a stream ends without an error,
0 when each raises one.

    python repro/litellm/stream_html_answer.py   # litellm 1.110.2: exit 1
"""

import importlib.metadata
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

PAGE = b"<html><body><h1>Welcome to the guest network</h1></body></html>"


def serve():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()
            self.wfile.write(PAGE)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main():
    litellm.suppress_debug_info = True
    server, base = serve()
    calls = {
        "openai/gpt-4o-mini": {"api_base": base + "/v1", "max_retries": 0},
        "anthropic/claude-sonnet-4-5": {"api_base": base},
        "gemini/gemini-2.5-flash": {"api_base": base + "/v1beta/models/gemini-2.5-flash"},
    }
    print(f"litellm {importlib.metadata.version('litellm')}")
    silent = False
    for model, options in calls.items():
        try:
            chunks = list(
                litellm.completion(
                    model=model,
                    api_key="test",
                    messages=[{"role": "user", "content": "Say hello."}],
                    stream=True,
                    **options,
                )
            )
        except Exception as exc:  # which error it is, is the point
            print(f"{model}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
        print(f"{model}: no error, {len(chunks)} chunks, text {text!r}, finish {reasons}")
        silent = True
    server.shutdown()
    if silent:
        print("VERDICT: BUG (an HTML page read as a finished, empty answer)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
