"""Replay cost per interaction: stock vcrpy against ``harness.cassettes.record.use_cassette``.

    $ .venv/bin/python bench/bench_replay.py [--sizes 10 100 1000] [--repeat 3]

For each N, records a cassette of N interactions (distinct ~4.5 KB JSON request bodies,
one small JSON answer each) through an ``httpx.MockTransport``, once with stock vcrpy
(``vcr.VCR(match_on=["method", "uri", "body"])``, default YAML) and once with
``use_cassette(record_mode="once")``; then replays each whole cassette in order through
``httpx.Client`` with ``record_mode="none"``. Times include loading the cassette (cold:
the parsed-cassette cache is cleared first); the best of ``--repeat`` runs is shown
(one run once a run takes more than 5 s).

Stock vcrpy compares each request with every recorded interaction before it (parsing
both JSON bodies each time): O(N) per request. ``IndexedCassette`` looks it up in a dict.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import vcr

from harness.cassettes.record import use_cassette
from harness.cassettes.serializer import clear_cache

URL = "https://api.openai.com/v1/chat/completions"
HEADERS = {"content-type": "application/json", "authorization": "Bearer test_openai_api_key"}
STOCK = vcr.VCR(match_on=["method", "uri", "body"])


def request_body(index: int) -> bytes:
    """A distinct chat request of about 4.5 KB."""
    history = [
        {"role": "user" if turn % 2 == 0 else "assistant", "content": f"turn {turn}: " + "x" * 400}
        for turn in range(10)
    ]
    body = {
        "model": "gpt-4o-mini",
        "messages": [*history, {"role": "user", "content": f"question number {index}"}],
        "temperature": 0.0,
    }
    return json.dumps(body).encode()


def answer(request: httpx.Request) -> httpx.Response:
    index = json.loads(request.content)["messages"][-1]["content"]
    return httpx.Response(200, json={"id": "chatcmpl-1", "choices": [{"text": index}]})


def run(cassette: AbstractContextManager[Any], bodies: Sequence[bytes], *, record: bool) -> None:
    transport = httpx.MockTransport(answer) if record else httpx.HTTPTransport()
    with cassette, httpx.Client(transport=transport) as client:
        for body in bodies:
            response = client.post(URL, content=body, headers=HEADERS)
            assert response.status_code == 200, response.text


def best_time(action: Callable[[], None], repeat: int) -> float:
    times: list[float] = []
    while len(times) < repeat and sum(times) < 5.0:
        clear_cache()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def bench(size: int, directory: Path, repeat: int) -> tuple[float, float]:
    bodies = [request_body(index) for index in range(size)]
    stock_path, indexed_path = directory / f"stock-{size}.yaml", directory / f"indexed-{size}.yaml"
    run(STOCK.use_cassette(stock_path, record_mode="once"), bodies, record=True)
    run(use_cassette(indexed_path, record_mode="once"), bodies, record=True)
    stock = best_time(
        lambda: run(STOCK.use_cassette(stock_path, record_mode="none"), bodies, record=False),
        repeat,
    )
    indexed = best_time(lambda: run(use_cassette(indexed_path), bodies, record=False), repeat)
    return stock, indexed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"request body: {len(request_body(0))} bytes; best of {args.repeat} runs")
    print(
        f"{'N':>6} | {'stock total':>12} | {'stock us/req':>12} | "
        f"{'indexed total':>13} | {'indexed us/req':>14} | {'speed-up':>8}"
    )
    with tempfile.TemporaryDirectory() as directory:
        for size in args.sizes:
            stock, indexed = bench(size, Path(directory), args.repeat)
            print(
                f"{size:>6} | {stock:>11.3f}s | {stock / size * 1e6:>12.0f} | "
                f"{indexed:>12.3f}s | {indexed / size * 1e6:>14.0f} | {stock / indexed:>7.1f}x",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
