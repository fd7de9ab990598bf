"""litellm: an error event inside a 200 stream gets an HTTP status and litellm's wording.

Found by the llm-parity conformance suite (stream_error_event, stream_error_rate_limited:
stream and astream on every provider), no upstream issue known. The answer's status was
200; the error arrives as an event of the stream. litellm raises it as an HTTP error:

- OpenAI (`data: {"error": {...}}`) and Anthropic (`event: error`): `status_code` 500,
  though the wire has none; Anthropic's `rate_limit_error` becomes an
  InternalServerError (500), not a RateLimitError;
- Bedrock (an exception frame): 503 for `internalServerException`, 429 for
  `throttlingException`, and the message is the frame's type then its JSON payload
  (`internalServerException {"message": "..."}`) rather than the message;
- Gemini (an `{"error": {...}}` element, which carries a code): the message gets the
  status name in front (`INTERNAL - The server had an error.`).

Mechanism checked: loopback APIs start a stream, then send an error event (a server
error, then a rate-limit error, worded as the providers word them). Exit 1 when an
exception has a status the wire did not carry, a class other than the event's kind, or
words around the message the event did not have; 0 otherwise.

    python repro/litellm/stream_error_events.py   # litellm 1.110.2: exit 1
"""

import json
import os
import struct
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm


def text(rate):
    """The error's message, as the providers word these errors."""
    return "Rate limit reached for requests" if rate else "The server had an error."


def sse(data, name=None):
    return (f"event: {name}\n" if name else "") + f"data: {json.dumps(data)}\n\n"


def frame(headers, payload):
    """One AWS event-stream message (Bedrock's streaming format)."""
    head = b"".join(bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v))
                    + v.encode() for k, v in headers.items())
    prelude = struct.pack(">II", 16 + len(head) + len(payload), len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def openai(rate):
    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini",
             "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]}
    kind, code = ("requests", "rate_limit_exceeded") if rate else ("server_error", None)
    error = {"message": text(rate), "type": kind, "param": None, "code": code}
    return "text/event-stream", (sse(chunk) + sse({"error": error})).encode()


def anthropic(rate):
    message = {"id": "msg_1", "type": "message", "role": "assistant", "content": [],
               "model": "claude-sonnet-4-5", "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": 3, "output_tokens": 1}}
    kind = "rate_limit_error" if rate else "api_error"
    events = sse({"type": "message_start", "message": message}, "message_start")
    events += sse({"type": "error", "error": {"type": kind, "message": text(rate)}}, "error")
    return "text/event-stream", events.encode()


def bedrock(rate):
    start = frame({":event-type": "messageStart", ":content-type": "application/json",
                   ":message-type": "event"}, b'{"role": "assistant"}')
    kind = "throttlingException" if rate else "internalServerException"
    error = frame({":exception-type": kind, ":content-type": "application/json",
                   ":message-type": "exception"}, json.dumps({"message": text(rate)}).encode())
    return "application/vnd.amazon.eventstream", start + error


def gemini(rate):
    code, status = (429, "RESOURCE_EXHAUSTED") if rate else (500, "INTERNAL")
    error = {"error": {"code": code, "message": text(rate), "status": status}}
    return "text/event-stream", sse(error).encode()


def serve(answer, rate):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            kind, data = answer(rate)
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


PROVIDERS = {  # answer, litellm arguments, status the wire carries, words litellm adds
    "openai": (openai, {"model": "openai/gpt-4o-mini", "api_key": "t", "max_retries": 0},
               lambda rate: None, lambda rate: None),
    "anthropic": (anthropic, {"model": "anthropic/claude-sonnet-4-5", "api_key": "t"},
                  lambda rate: None, lambda rate: None),
    "bedrock": (bedrock, {"model": "bedrock/converse/us.amazon.nova-micro-v1:0",
                          "aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "x",
                          "aws_region_name": "us-east-1"},
                lambda rate: None,
                lambda rate: ("throttlingException" if rate else "internalServerException")
                + " " + json.dumps({"message": text(rate)})),
    "gemini": (gemini, {"model": "gemini/gemini-2.5-flash", "api_key": "t"},
               lambda rate: 429 if rate else 500,
               lambda rate: ("RESOURCE_EXHAUSTED" if rate else "INTERNAL") + " - " + text(rate)),
}


def main():
    litellm.suppress_debug_info = True
    wrong = False
    for provider, (answer, args, wire_status, added) in PROVIDERS.items():
        for rate in (False, True):
            base = serve(answer, rate) + ("/v1" if provider == "openai" else "")
            base += "/v1beta" if provider == "gemini" else ""
            try:
                list(litellm.completion(stream=True, api_base=base, **args,
                                        messages=[{"role": "user", "content": "Hi"}]))
                exc = None
            except Exception as caught:
                exc = caught
            status = getattr(exc, "status_code", None)
            message = str(getattr(exc, "message", exc))
            cause = getattr(exc, "original_exception", None) or exc
            print(f"{provider:9} {'rate-limit' if rate else 'server'} event: "
                  f"{type(cause).__name__}, status_code {status}, after litellm's label: "
                  f"{message[message.find(' - ') + 3:][:70]!r}")
            wrong |= status != wire_status(rate)
            wrong |= rate != isinstance(cause, litellm.RateLimitError)
            wrong |= added(rate) is not None and added(rate) in message
    if wrong:
        print("BUG: error events are raised with a status, class or wording they did not have")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
