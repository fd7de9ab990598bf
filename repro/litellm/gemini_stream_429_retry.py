"""litellm: with num_retries, a Gemini 429 before the answer is retried streamed or not.

Found by this project's recording (issue 10), no upstream issue known. With
`num_retries=2` (litellm's retries need the `tenacity` package), a 429 followed by an
answer is retried by `completion` and the answer returned; `completion(stream=True)`
makes one request and raises MidStreamFallbackError, though no byte of the stream had
arrived.

Mechanism checked: a loopback Gemini API answers the first request of each call with
429 RESOURCE_EXHAUSTED and the next with "Hi."; both calls must return "Hi." after two
requests. Exit 1 when the streamed call does not, 0 when it does, 3 when the
non-streamed call does not retry either or there is no gemini/ provider.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download
import litellm

LIMITED = {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
ANSWER = {"candidates": [{"content": {"parts": [{"text": "Hi."}], "role": "model"},
                          "finishReason": "STOP", "index": 0}],
          "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, "totalTokenCount": 7},
          "modelVersion": "gemini-2.5-flash", "responseId": "r1"}


def serve():
    """A loopback Gemini API: 429 on the first request, then the answer (JSON or SSE)."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.path)
            if len(requests) == 1:
                status, data, kind = 429, json.dumps(LIMITED), "application/json"
            elif "streamGenerateContent" in self.path:
                status, data, kind = 200, f"data: {json.dumps(ANSWER)}\r\n\r\n", "text/event-stream"
            else:
                status, data, kind = 200, json.dumps(ANSWER), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args):
            pass

    # old releases append ":generateContent" to api_base, newer "/models/<model>:..."; the
    # server answers any path, so a base ending in the model's path serves both
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta/models/gemini-2.5-flash", requests


def ask(stream):
    url, requests = serve()
    args = {"model": "gemini/gemini-2.5-flash", "api_base": url, "api_key": "test",
            "messages": [{"role": "user", "content": "Hi"}], "num_retries": 2}
    try:
        if stream:
            text = "".join(c.choices[0].delta.content or "" for c in
                           litellm.completion(stream=True, **args))
        else:
            text = litellm.completion(**args).choices[0].message.content
    except Exception as exc:
        text = f"{type(exc).__name__}: {str(exc)[:120]}"
    return text, len(requests)


def main():
    if "gemini" not in litellm.provider_list:
        print("this release has no gemini/ provider")
        return 3
    plain, streamed = ask(stream=False), ask(stream=True)
    print(f"completion            : {plain[0]!r} after {plain[1]} request(s)")
    if plain != ("Hi.", 2):
        print("the non-streamed call did not retry either: no baseline (is tenacity installed?)")
        return 3
    print(f"completion(stream=True): {streamed[0]!r} after {streamed[1]} request(s)")
    if streamed != ("Hi.", 2):
        print("BUG: the streamed call was not retried after the 429")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
