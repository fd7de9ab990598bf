"""agno: a failed model call ends the run with the error's text as its content, no exception.

Found by the llm-parity conformance suite (every error and connection-failure scenario on
agno 3.x: connection_refused, connection_reset_exhausted, tls_untrusted_certificate,
error_* ...), no upstream issue known. From 3.0 `Agent.run()` / `arun()` catch the
model's exception, log it, and return a `RunOutput` with `status=ERROR` whose `content`
is `str(exception)`: the caller gets no exception, no error type (a refused connection,
a reset and an HTTP 429 look alike) and, unless it checks `status`, the error text as the
answer. (docs/compat/agno.md records that releases before 3.0 raised it, wrapped in
`ModelProviderError`; this script was run on 3.1.10 only.)

Mechanism checked: one Agent on AwsBedrock, botocore's endpoint a bound, never-listening
loopback port, then a server that resets each connection (TCP RST), one attempt
(`AWS_MAX_ATTEMPTS=1`); `run` each time. Exit 1 when `run` returns without raising,
0 when it raises, 3 when the release has no Bedrock model.

    python repro/agno/connection_failure_as_content.py   # agno 3.1.10: exit 1
"""

import os
import socket
import struct
import sys
import threading


def resetting_server():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


def run_once(url):
    os.environ["AWS_ENDPOINT_URL_BEDROCK_RUNTIME"] = url
    from agno.agent import Agent

    try:
        from agno.models.aws import AwsBedrock
    except ImportError as exc:
        return None, f"no Bedrock model: {exc}"
    agent = Agent(model=AwsBedrock(id="us.amazon.nova-micro-v1:0"), telemetry=False)
    try:
        run = agent.run("Say hello.")
    except Exception as exc:  # the error, raised: what the check wants
        return False, f"raised {type(exc).__name__}: {exc}"
    status = getattr(run.status, "value", run.status)
    return True, f"returned status={status!r} content={run.content!r}"


def main():
    os.environ.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY="secret",
        AWS_REGION="us-east-1",
        AWS_MAX_ATTEMPTS="1",
        AGNO_TELEMETRY="false",
        AGNO_MONITOR="false",
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    resetting, reset_url = resetting_server()
    silent = False
    for label, url in (
        ("refused", f"http://127.0.0.1:{closed.getsockname()[1]}"),
        ("reset", reset_url),
    ):
        returned, text = run_once(url)
        if returned is None:
            print(text)
            return 3
        print(f"{label}: {text}")
        silent |= returned
    closed.close()
    resetting.close()
    if silent:
        print("VERDICT: BUG (a failed call ends the run with the error as content, not raised)")
        return 1
    print("VERDICT: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
