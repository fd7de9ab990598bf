"""litellm: a Gemini error is the same exception streamed and not streamed.

Found by this project's recording (issue 10), no upstream issue known. A Gemini HTTP 400
raised from `completion(stream=True)` comes out of another code path than the
non-streamed one: the exception names the provider `vertex_ai_beta` instead of `gemini`,
and its message carries the body's bytes repr (b'{"error": ...}') instead of the text.

Mechanism checked: a loopback Gemini API answers 400 INVALID_ARGUMENT to both calls; the
two exceptions must have the same type, llm_provider and message. Exit 1 when they
differ, 0 when equal, 3 when the release has no gemini/ provider.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download
import litellm

ERROR = {"error": {"code": 400, "message": "Invalid value at 'contents'",
                   "status": "INVALID_ARGUMENT"}}


def serve():
    """A loopback Gemini API answering every request with HTTP 400."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(ERROR).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    # old releases append ":generateContent" to api_base, newer "/models/<model>:..."; the
    # server answers any path, so a base ending in the model's path serves both
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta/models/gemini-2.5-flash"


def error_of(call):
    try:
        call()
    except Exception as exc:
        return type(exc).__name__, getattr(exc, "llm_provider", None), str(exc)
    return None, None, "no error"


def main():
    if "gemini" not in litellm.provider_list:
        print("this release has no gemini/ provider")
        return 3
    args = {"model": "gemini/gemini-2.5-flash", "api_base": serve(), "api_key": "test",
            "messages": [{"role": "user", "content": "Hi"}]}
    plain = error_of(lambda: litellm.completion(**args))
    streamed = error_of(lambda: list(litellm.completion(stream=True, **args)))
    print(f"completion            : {plain}")
    print(f"completion(stream=True): {streamed}")
    if plain != streamed:
        print("BUG: the streamed error differs (provider name, bytes repr in the message)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
