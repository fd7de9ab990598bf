"""One huge event, streamed against not streamed, through the whole client over loopback.

    $ .venv/bin/python bench/bench_stream.py [--mb 50] [--providers NAME ...] [--paths sync async]

A loopback HTTP server (a thread of this process) answers each request with one answer
whose text is ``--mb`` MB: as one JSON body when not streamed, or as a stream holding that
text in ONE event (an SSE ``data:`` line for openai, anthropic and gemini, one
eventstream frame for bedrock), sent with chunked transfer in 64 KiB pieces. Each
measurement runs ``LM.__call__`` / ``LM.stream`` (or ``acall`` / ``astream``) in a fresh
child process, checks that the answer holds every character of the text, and reports
its wall time and its peak memory: the growth of the child's peak RSS (Linux ``VmHWM``,
reset just before the call) over its RSS just before the call (after a warm-up call).

Prints, per provider and path, both times, the ratio streamed / not streamed and both
peaks. Target (issue 12): streamed within 2x of not streamed.

botocore refuses eventstream payloads over 24 MiB (``_MAX_PAYLOAD_LENGTH``), as AWS
sends none that large: for bedrock the event is capped at 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROVIDERS = ("openai", "anthropic", "gemini", "bedrock")
BEDROCK_CAP_MB = 20
_WORDS = "lorem ipsum dolor sit amet, café déjà vu \N{SNOWMAN} naïve "
"""Multi-byte characters included: a chunk boundary must be able to split one."""


def answer_text(megabytes: int) -> str:
    """About ``megabytes`` MB of text (UTF-8), deterministic."""
    size = megabytes * 1_000_000
    unit = _WORDS.encode()
    return (unit * (size // len(unit) + 1)).decode()[:size]


# --- bodies -------------------------------------------------------------------------


def bodies(provider: str, text: str) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """``((content type, whole body), (content type, streamed body))``: the same answer."""
    if provider == "openai":
        whole = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
        }
        chunks = [
            {"id": "chatcmpl-1", "model": "gpt-test", "choices": [_delta(text)]},
            {"id": "chatcmpl-1", "model": "gpt-test", "choices": [_delta("", "stop")]},
        ]
        stream = b"".join(b"data: " + _json(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
        return ("application/json", _json(whole)), ("text/event-stream", stream)
    if provider == "anthropic":
        usage = {"input_tokens": 1, "output_tokens": 2}
        whole = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": usage,
        }
        start = {**whole, "content": [], "stop_reason": None}
        events = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": _text_delta(text)},
            ),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage},
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        stream = b"".join(
            b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n"
            for name, data in events
        )
        return ("application/json", _json(whole)), ("text/event-stream", stream)
    if provider == "gemini":
        whole = {
            "candidates": [
                {"content": {"parts": [{"text": text}], "role": "model"}, "finishReason": "STOP"}
            ],
            "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 2},
            "modelVersion": "gemini-test",
        }
        stream = b"data: " + _json(whole) + b"\r\n\r\n"
        return ("application/json", _json(whole)), ("text/event-stream", stream)
    from harness.emulator.bedrock import EVENTSTREAM, event_frame

    whole = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
    }
    frames = [
        event_frame("messageStart", {"role": "assistant"}),
        event_frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}),
        event_frame("contentBlockStop", {"contentBlockIndex": 0}),
        event_frame("messageStop", {"stopReason": "end_turn"}),
    ]
    return ("application/json", _json(whole)), (EVENTSTREAM, b"".join(frames))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _delta(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}


def _text_delta(text: str) -> dict[str, Any]:
    return {"type": "text_delta", "text": text}


# --- the loopback server (parent process) -------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answers: ClassVar[dict[bool, tuple[str, bytes]]] = {}
    small: ClassVar[dict[bool, tuple[str, bytes]]] = {}
    write_size = 1 << 16

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        streamed = (
            self.path.endswith(("-stream", "-with-response-stream"))
            or "streamGenerateContent" in self.path
            or b'"stream":true' in body.replace(b" ", b"")
        )
        table = self.small if b"warm up" in body else self.answers
        content_type, payload = table[streamed]
        self.send_response(200)
        self.send_header("content-type", content_type)
        if not streamed:
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        view = memoryview(payload)
        for start in range(0, len(payload), self.write_size):
            piece = view[start : start + self.write_size]
            self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def loopback(provider: str, text: str) -> Iterator[str]:
    """Serve the big answer (and a small one for warming up); yield the base URL."""
    whole, stream = bodies(provider, text)
    small_whole, small_stream = bodies(provider, "warm")
    handler = type("Handler", (_Handler,), {})
    handler.answers = {False: whole, True: stream}
    handler.small = {False: small_whole, True: small_stream}
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- one measurement (child process) -------------------------------------------------


def make_lm(provider: str, url: str) -> Any:
    from harness.lm import LM

    if provider == "openai":
        return LM("openai/gpt-test", api_key="k", base_url=f"{url}/v1", max_retries=0)
    if provider == "anthropic":
        return LM("anthropic/claude-test", api_key="k", base_url=url, max_retries=0)
    if provider == "gemini":
        return LM("gemini/gemini-test", api_key="k", base_url=f"{url}/v1beta", max_retries=0)
    from botocore.credentials import Credentials

    return LM(
        "bedrock/amazon.nova-test",
        region="us-east-1",
        endpoint_url=url,
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        max_retries=0,
    )


def _rss_now() -> int:
    """Current resident set size in bytes (Linux), else the peak so far."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return _rss_peak()


def _reset_peak() -> None:
    """Start the peak RSS afresh (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):  # elsewhere the peak counts from the process start
        Path("/proc/self/clear_refs").write_text("5")


def _rss_peak() -> int:
    """Peak resident set size in bytes: this process image's ``VmHWM`` on Linux (unlike
    ``ru_maxrss``, it does not inherit the parent's size across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure(provider: str, url: str, path: str, streamed: bool, expected: int) -> dict[str, Any]:
    """Time one call of the big answer; check it; return seconds and peak growth."""
    lm = make_lm(provider, url)

    def call(prompt: str) -> str:
        if path == "sync":
            if streamed:
                text: str = lm.stream(prompt).collect().text
                return text
            return str(lm(prompt).text)

        async def run() -> str:
            if streamed:
                return str((await lm.astream(prompt).collect()).text)
            return str((await lm.acall(prompt)).text)

        return asyncio.run(run())

    call("warm up")
    gc.collect()
    before = _rss_now()
    _reset_peak()
    started = time.perf_counter()
    text = call("the big one")
    seconds = time.perf_counter() - started
    peak = _rss_peak() - before
    if len(text) != expected:
        raise SystemExit(f"wrong answer: {len(text)} characters, expected {expected}")
    return {"seconds": seconds, "peak_mib": peak / 2**20}


def child(args: argparse.Namespace) -> None:
    result = measure(args.provider, args.url, args.path, args.streamed, args.expected)
    print(json.dumps(result))


def run_child(provider: str, url: str, path: str, streamed: bool, expected: int) -> Any:
    command = [
        sys.executable,
        __file__,
        "--child",
        "--provider",
        provider,
        "--url",
        url,
        "--path",
        path,
        "--expected",
        str(expected),
    ]
    if streamed:
        command.append("--streamed")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measurement failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="size of the one event (MB)")
    parser.add_argument(
        "--providers", nargs="+", choices=PROVIDERS, default=list(PROVIDERS), metavar="PROVIDER"
    )
    parser.add_argument("--provider", choices=PROVIDERS, help=argparse.SUPPRESS)
    parser.add_argument("--paths", nargs="+", choices=("sync", "async"), default=["sync", "async"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--streamed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    for provider in args.providers:
        compare(provider, args.mb, args.paths)


def compare(provider: str, megabytes: int, paths: list[str]) -> None:
    """Print, per path, the times of the big answer not streamed and streamed."""
    if provider == "bedrock" and megabytes > BEDROCK_CAP_MB:
        print(f"bedrock: capped at {BEDROCK_CAP_MB} MB (botocore's eventstream limit)")
        megabytes = BEDROCK_CAP_MB
    text = answer_text(megabytes)
    print(f"{provider}: one event of {len(text.encode()) / 1e6:.1f} MB of text")
    header = f"{'path':<6} {'not streamed':>13} {'streamed':>10} {'ratio':>6}"
    print(f"{header}   peak MiB (not / streamed)")
    with loopback(provider, text) as url:
        for path in paths:
            whole = run_child(provider, url, path, False, len(text))
            stream = run_child(provider, url, path, True, len(text))
            ratio = stream["seconds"] / whole["seconds"]
            print(
                f"{path:<6} {whole['seconds']:>12.2f}s {stream['seconds']:>9.2f}s {ratio:>6.2f}"
                f"   {whole['peak_mib']:.0f} / {stream['peak_mib']:.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
