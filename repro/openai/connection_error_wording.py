"""openai: every connection failure reads "Connection error.", every timeout "Request timed out.".

Found by the llm-parity conformance suite (connection_refused, connection_reset_exhausted,
connection_dropped_exhausted, cut_mid_body_exhausted, cut_mid_stream, read_timeout, the
tls_* scenarios: the `Expect.says` check, issue "a failure the client words itself says
what and where"), no upstream issue known. No provider said anything: the message is the
SDK's own, and `APIConnectionError` / `APITimeoutError` carry a fixed text that names
neither the address tried nor what happened (refused, reset, timed out while reading);
both are left in `__cause__`, the HTTP library's exception, which the message never shows.

Mechanism checked: `max_retries=0`, one `chat.completions.create` against (1) a bound,
never-listening loopback port, (2) a server that resets the connection (TCP RST) after
reading the request, (3) a server that answers after 1 s with `timeout=0.2`. Exit 1 when a
message leaves out the `host:port` or what happened ("refused", "reset", "timed out" and
"read"), 0 when each says both.

    python repro/openai/connection_error_wording.py   # openai 3.63.0: exit 1
"""

import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai


def server(behaviour):
    """A loopback server that reads each request, then resets it or answers late."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            if behaviour == "reset":  # linger 0: close sends RST, not FIN
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            time.sleep(1)
            self.close_connection = True

        def log_message(self, *args):
            pass

    running = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    running.daemon_threads = True
    threading.Thread(target=running.serve_forever, daemon=True).start()
    return running, f"127.0.0.1:{running.server_port}"


def message(address, **options):
    client = openai.OpenAI(
        api_key="sk-test", base_url=f"http://{address}/v1", max_retries=0, **options
    )
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello"}]
        )
    except openai.APIConnectionError as exc:
        return exc.message, exc.__cause__
    return "(no error)", None


def main():
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    resetting, reset_address = server("reset")
    slow, slow_address = server("slow")
    cases = [
        ("refused", f"127.0.0.1:{closed.getsockname()[1]}", {}, ("refused",)),
        ("reset", reset_address, {}, ("reset",)),
        ("read timeout", slow_address, {"timeout": 0.2}, ("timed out", "read")),
    ]
    print(f"openai {openai.__version__}")
    silent = False
    for label, address, options, words in cases:
        text, cause = message(address, **options)
        print(f"{label}: {text!r}\n  __cause__: {type(cause).__name__}: {cause}")
        said = [address, *words]
        missing = [word for word in said if word.lower() not in text.lower()]
        if missing:
            print(f"  leaves out: {missing}")
            silent = True
    closed.close()
    resetting.shutdown()
    slow.shutdown()
    if silent:
        print("VERDICT: BUG (the message names neither the address nor what happened)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
