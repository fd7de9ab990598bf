"""Cost of one request key: strict ``request_key`` against ``semantic_key``, same run.

    $ .venv/bin/python bench/bench_matching.py [--repeat 5] [--loops 20]

Bodies: every request of the shipped cassettes (cassettes/<provider>/*.yaml, the
reference client's own bodies: plain, sampling, tools, tool results, streams), by
provider, and a 4.5 KB eleven-turn chat body (bench_replay.py's). Each key is built from
a vcrpy ``Request``, as the replay layer does. ``semantic (cold)`` clears the semantic
key memo before every pass, so every key is normalized from the bytes; ``semantic
(memo)`` is the same requests again, as when every mode of a scenario replays the same
request. The best of ``--repeat`` passes of ``--loops`` rounds is shown, in µs per key.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from vcr.request import Request

from harness.cassettes import load_cassette
from harness.cassettes.match import request_key
from harness.cassettes.semantic import clear_memo, semantic_key

ROOT = Path(__file__).resolve().parent.parent


def shipped_requests() -> dict[str, list[Request]]:
    """The shipped cassettes' requests as vcrpy requests, by provider."""
    out: dict[str, list[Request]] = {}
    for path in sorted((ROOT / "cassettes").glob("*/*.yaml")):
        for interaction in load_cassette(path):
            recorded = interaction.request
            request = Request(recorded.method, recorded.uri, recorded.body, recorded.headers)
            out.setdefault(path.parent.name, []).append(request)
    return out


def long_chat() -> list[Request]:
    history = [
        {"role": "user" if turn % 2 == 0 else "assistant", "content": f"turn {turn}: " + "x" * 400}
        for turn in range(10)
    ]
    body = {
        "model": "gpt-4o-mini",
        "messages": [*history, {"role": "user", "content": "question"}],
        "temperature": 0.0,
    }
    uri = "https://api.openai.com/v1/chat/completions"
    return [Request("POST", uri, json.dumps(body).encode(), {})]


def per_key(
    build: Callable[[Any], Any], requests: Sequence[Request], loops: int, repeat: int, cold: bool
) -> float:
    """Best µs per key over ``repeat`` passes of ``loops`` rounds over ``requests``."""
    best = float("inf")
    for _ in range(repeat):
        elapsed = 0.0
        for _ in range(loops):
            if cold:
                clear_memo()
            start = time.perf_counter()
            for request in requests:
                build(request)
            elapsed += time.perf_counter() - start
        best = min(best, elapsed / (loops * len(requests)) * 1e6)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--loops", type=int, default=20)
    args = parser.parse_args(argv)
    groups = shipped_requests()
    groups["all shipped"] = [r for requests in list(groups.values()) for r in requests]
    groups["4.5 KB chat"] = long_chat()
    print(f"µs per key, best of {args.repeat} passes of {args.loops} rounds")
    print(
        f"{'bodies':>12} | {'keys':>5} | {'avg bytes':>9} | {'strict':>7} | "
        f"{'semantic (cold)':>15} | {'ratio':>5} | {'semantic (memo)':>15}"
    )
    for name, requests in groups.items():
        size = sum(len(r.body or b"") for r in requests) / len(requests)
        strict = per_key(request_key, requests, args.loops, args.repeat, cold=False)
        cold = per_key(semantic_key, requests, args.loops, args.repeat, cold=True)
        warm = per_key(semantic_key, requests, args.loops, args.repeat, cold=False)
        print(
            f"{name:>12} | {len(requests):>5} | {size:>9.0f} | {strict:>7.1f} | "
            f"{cold:>15.1f} | {cold / strict:>4.1f}x | {warm:>15.1f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
