"""anthropic: three connection failures whose message leaves out what happened.

Found by the llm-parity conformance suite (the `Expect.says` check: read_timeout,
tls_handshake_reset, connection_refused in its async modes), no upstream issue known. No
provider said anything: the message is the SDK's own. It names the address tried, but:

- a read timeout reads "Request to HOST:PORT timed out after 0.2s": not which phase timed
  out (connecting, or waiting for the answer);
- a TLS handshake the server resets reads "Connection to HOST:PORT failed: [Errno 104]
  Connection reset by peer": not that it happened in the TLS handshake (an `https` proxy
  or a firewall refusing TLS, not a server that dropped an answer);
- a refused connection on the async client reads "... [Errno 111] Connect call failed
  (...)": asyncio's wording, without "refused" (the sync client says "Connection
  refused"; `connection_error_wording.py` holds that sync/async difference).

Mechanism checked: `max_retries=0`, one `messages.create` each: against a server that
answers after 1 s (`timeout=0.2`, sync client); an `https://` URL to a loopback port that
reads the TLS ClientHello and resets the connection (sync client); a bound,
never-listening port (async client). Exit 1 when a message leaves out "read" or
"response", "TLS" or "SSL", or "refused", 0 when each says it.

    python repro/anthropic/failure_wording.py   # anthropic 2.17.0: exit 1
"""

import asyncio
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anthropic

ARGS = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 16,
    "messages": [{"role": "user", "content": "Say hello."}],
}


def slow_server():
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(1)
            self.close_connection = True

        def log_message(self, *args):
            pass

    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.daemon_threads = True
    threading.Thread(target=running.serve_forever, daemon=True).start()
    return running, f"http://127.0.0.1:{running.server_port}"


def resetting_server():
    """Reads the first bytes (the TLS ClientHello) of each connection, then sends RST."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"https://127.0.0.1:{listener.getsockname()[1]}"


def sync_message(base_url, **options):
    client = anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0, **options)
    try:
        client.messages.create(**ARGS)
    except anthropic.APIConnectionError as exc:
        return exc.message
    return "(no error)"


def async_message(base_url):
    async def call():
        async with anthropic.AsyncAnthropic(
            api_key="test", base_url=base_url, max_retries=0
        ) as client:
            await client.messages.create(**ARGS)

    try:
        asyncio.run(call())
    except anthropic.APIConnectionError as exc:
        return exc.message
    return "(no error)"


def main():
    slow, slow_url = slow_server()
    resetting, reset_url = resetting_server()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    cases = [
        ("read timeout (sync)", sync_message(slow_url, timeout=0.2), ("read", "respon")),
        ("reset TLS handshake (sync)", sync_message(reset_url), ("TLS", "SSL")),
        ("refused (async)", async_message(closed_url), ("refused",)),
    ]
    slow.shutdown()
    resetting.close()
    closed.close()
    print(f"anthropic {anthropic.__version__}")
    silent = False
    for label, text, words in cases:
        said = any(word.lower() in text.lower() for word in words)
        print(f"{label}: {text!r}" + ("" if said else f"\n  says none of {words}"))
        silent |= not said
    if silent:
        print("VERDICT: BUG (a connection failure's message leaves out what happened)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
