"""litellm: Gemini usage counts the same reasoning tokens streamed and not streamed.

Found by this project's recording (issue 10), no upstream issue known. For a Gemini reply
with thought parts whose usageMetadata has no thoughtsTokenCount, the streamed response
reports reasoning_tokens counted from the thought text (8 here), while the non-streamed
response of the same reply reports none.

Mechanism checked: a loopback Gemini API answers the same reply (thoughts "17 * 3 = 51.",
answer "51", 15 prompt / 30 candidate tokens) as JSON and as SSE; the usage of
`completion` and of the built stream must have equal reasoning_tokens (None counts as
0). Exit 1 when they differ, 0 when equal, 3 when the release has no gemini/ provider.
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no cost-map download
import litellm

THOUGHTS, ANSWER = ["17 ", "* 3", " = ", "51."], "51"
USAGE = {"promptTokenCount": 15, "candidatesTokenCount": 30, "totalTokenCount": 45}


def reply(parts, usage, finish=None):
    candidate = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage,
            "modelVersion": "gemini-2.5-flash", "responseId": "r1"}


def serve():
    """A loopback Gemini API: generateContent as JSON, streamGenerateContent as SSE."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if "streamGenerateContent" in self.path:
                partial = {"promptTokenCount": 15, "totalTokenCount": 15}
                chunks = [reply([{"text": t, "thought": True}], partial) for t in THOUGHTS]
                chunks.append(reply([{"text": ANSWER}], USAGE, "STOP"))
                data = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks).encode()
                kind = "text/event-stream"
            else:
                parts = [{"text": "".join(THOUGHTS), "thought": True}, {"text": ANSWER}]
                data, kind = json.dumps(reply(parts, USAGE, "STOP")).encode(), "application/json"
            self.send_response(200)
            self.send_header("Content-Type", kind)
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


def reasoning_tokens(usage):
    details = getattr(usage, "completion_tokens_details", None)
    return getattr(details, "reasoning_tokens", None)


def main():
    if "gemini" not in litellm.provider_list:
        print("this release has no gemini/ provider")
        return 3
    args = {"model": "gemini/gemini-2.5-flash", "api_base": serve(), "api_key": "test",
            "messages": [{"role": "user", "content": "What is 17 * 3?"}]}
    plain = litellm.completion(**args)
    chunks = list(litellm.completion(stream=True, stream_options={"include_usage": True}, **args))
    streamed = litellm.stream_chunk_builder(chunks)
    print(f"completion  : {plain.choices[0].message.content!r}, "
          f"reasoning_tokens={reasoning_tokens(plain.usage)}")
    print(f"stream built: {streamed.choices[0].message.content!r}, "
          f"reasoning_tokens={reasoning_tokens(streamed.usage)}")
    if (reasoning_tokens(plain.usage) or 0) != (reasoning_tokens(streamed.usage) or 0):
        print("BUG: the same reply reports different reasoning tokens streamed and not")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
