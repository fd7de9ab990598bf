"""litellm: connection failures and timeouts whose message names no address.

Found by the llm-parity conformance suite (the `Expect.says` check: connection_refused,
connection_dropped_exhausted, connection_reset_exhausted, cut_mid_body_exhausted,
tls_handshake_failed, tls_handshake_reset, tls_untrusted_certificate, read_timeout on
Gemini, Bedrock and Anthropic), no upstream issue known. No provider said anything: the
message is the client's own, and litellm passes on its transport's exception text
(httpx's on the sync path, aiohttp's on the async one) with its own prefix, which names
neither the host nor the port it tried: "[Errno 111] Connection refused", "Server
disconnected without sending a response.", "[Errno 104] Connection reset by peer" (also
for a reset TLS handshake, without "TLS"), "Read timed out. Timeout passed=0.2"; async,
a refused connection reads "Cannot connect to host HOST:PORT ... [Connect call failed
...]", without "refused". (On OpenAI the words are the openai SDK's:
`repro/openai/connection_error_wording.py`. That the sync and async wordings differ is
`connection_error_wording.py`.)

Mechanism checked: Gemini through `api_base` on loopback, `num_retries=0`, not
streamed: `completion` against a bound, never-listening port, a server that reads the
request and closes, one that resets (TCP RST); `acompletion` against the never-listening
port; Anthropic's `completion` with `timeout=0.2` against a server answering after 1 s.
Exit 1 when a message leaves out the `host:port` or what happened, 0 when each says both.

    python repro/litellm/failure_wording.py   # litellm 1.110.2: exit 1
"""

import asyncio
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-list download
import litellm

MESSAGES = [{"role": "user", "content": "Say hello."}]


def server(behaviour):
    """A loopback server that reads each request, then closes, resets or answers late."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if behaviour == "reset":  # linger 0: close sends RST, not FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
            elif behaviour == "slow":
                time.sleep(1)
            self.close_connection = True

        def log_message(self, *args):
            pass

    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.daemon_threads = True
    threading.Thread(target=running.serve_forever, daemon=True).start()
    return running, f"127.0.0.1:{running.server_port}"


def gemini(address, run=litellm.completion):
    args = {
        "model": "gemini/gemini-2.5-flash",
        "api_key": "test",
        "api_base": f"http://{address}/v1beta/models/gemini-2.5-flash",
        "num_retries": 0,
        "messages": MESSAGES,
    }
    return args, run


def failure(args, run):
    try:
        result = run(**args)
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except Exception as exc:
        return str(exc)
    return "(no error)"


def main():
    litellm.suppress_debug_info = True
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    refused = f"127.0.0.1:{closed.getsockname()[1]}"
    servers = {name: server(name) for name in ("close", "reset", "slow")}
    slow = servers["slow"][1]
    cases = [
        ("refused, completion", refused, gemini(refused), ("refused",)),
        ("refused, acompletion", refused, gemini(refused, litellm.acompletion), ("refused",)),
        ("closed", servers["close"][1], gemini(servers["close"][1]), ("closed|disconnected",)),
        ("reset", servers["reset"][1], gemini(servers["reset"][1]), ("reset",)),
        (
            "read timeout (Anthropic)",
            slow,
            (
                {
                    "model": "anthropic/claude-sonnet-4-5",
                    "api_key": "test",
                    "api_base": f"http://{slow}",
                    "num_retries": 0,
                    "timeout": 0.2,
                    "messages": MESSAGES,
                },
                litellm.completion,
            ),
            ("timed out|timeout", "read|respon"),
        ),
    ]
    silent = False
    for label, address, (args, run), words in cases:
        text = failure(args, run)
        missing = [
            item
            for item in (address, *words)
            if not any(word.lower() in text.lower() for word in item.split("|"))
        ]
        print(f"{label}: {text!r}" + (f"\n  leaves out: {missing}" if missing else ""))
        silent |= bool(missing)
    closed.close()
    for running, _ in servers.values():
        running.shutdown()
    if silent:
        print("VERDICT: BUG (a connection failure's message leaves out where or what)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
