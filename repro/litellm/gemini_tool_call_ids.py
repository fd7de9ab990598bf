"""litellm: the same Gemini tool call gets a new random id on every call.

Found by the llm-parity conformance suite (tool_call_single, tool_call_parallel,
tool_choice_required, tool_choice_named on Gemini: async and astream differ from their
sync and stream baselines in `tool_calls[].id` alone), no upstream issue known. The
Gemini API gives function calls no id; litellm invents `call_<uuid4>` for each, so one
recorded answer yields different ids on every call, sync or async, streamed or not
(the reference client numbers them `call_0`, `call_1`...). Results are not reproducible
and cannot be compared or cached by value.

Mechanism checked: a loopback Gemini API answers the same functionCall twice; the two
responses' tool-call ids must be equal. Exit 1 when they differ, 0 when equal.

    python repro/litellm/gemini_tool_call_ids.py   # litellm 1.110.2: exit 1
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

ANSWER = {
    "candidates": [
        {
            "content": {
                "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}],
                "role": "model",
            },
            "finishReason": "STOP",
            "index": 0,
        }
    ],
    "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 9, "totalTokenCount": 29},
    "modelVersion": "gemini-2.5-flash",
    "responseId": "r1",
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]


def serve():
    """A loopback Gemini API answering every request with the same function call."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(ANSWER).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/v1beta"


def main():
    litellm.suppress_debug_info = True
    url = serve()
    ids = []
    for _ in range(2):
        response = litellm.completion(
            model="gemini/gemini-2.5-flash",
            api_base=url,
            api_key="test",
            tools=TOOLS,
            messages=[{"role": "user", "content": "Weather in Paris?"}],
        )
        ids.append([call.id for call in response.choices[0].message.tool_calls])
    print(f"tool-call ids of the same answer, twice: {ids}")
    if ids[0] != ids[1]:
        print("BUG: the same answer gets different tool-call ids")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
