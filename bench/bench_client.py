"""Client overhead and throughput against a loopback stub, side by side with baselines.

    python bench/bench_client.py [--calls 3000] [--concurrency 50]

Prints, from one run: per-call time of raw httpx (sync) and of the reference client and
the peer SDKs that are installed (``pip install -e '.[bench]'``), their overhead over
raw httpx in microseconds; requests per second at the given concurrency for the async
paths; and cold import times. Targets (issue 2): sync overhead at most 15% over raw
httpx, async throughput at least that of the fastest peer SDK, ``import harness`` at
most 1.3 times ``import httpx``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm fetches otherwise
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BODY = json.dumps({"model": "gpt-test", "messages": [{"role": "user", "content": "ping"}]}).encode()
HEADERS = {"content-type": "application/json", "authorization": "Bearer k"}


@contextmanager
def stub_server() -> Any:
    """Start bench/stub_server.py in its own process; yield its base URL."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "stub_server.py"), port_file])
        try:
            deadline = time.monotonic() + 10
            while not (port_file.exists() and port_file.read_text()):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the stub server did not start")
                time.sleep(0.02)
            yield f"http://127.0.0.1:{port_file.read_text()}"
        finally:
            proc.kill()
            proc.wait()


def per_call_us(fn: Callable[[], Any], calls: int, repeats: int = 3) -> float:
    for _ in range(min(200, calls)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


AsyncCall = Callable[[], Awaitable[Any]]
Closer = Callable[[], Awaitable[Any]] | None


def throughput(make: Callable[[], tuple[AsyncCall, Closer]], calls: int, concurrency: int) -> float:
    async def run() -> float:
        one, close = make()
        gate = asyncio.Semaphore(concurrency)

        async def bounded() -> None:
            async with gate:
                await one()

        await asyncio.gather(*(bounded() for _ in range(concurrency * 4)))
        best = 0.0
        for _ in range(3):
            started = time.perf_counter()
            await asyncio.gather(*(bounded() for _ in range(calls)))
            best = max(best, calls / (time.perf_counter() - started))
        if close is not None:
            await close()
        return best

    return asyncio.run(run())


# --- the contenders ---------------------------------------------------------------------


def sync_contenders(base: str) -> dict[str, Callable[[], Any]]:
    import httpx

    from harness.lm import LM

    client = httpx.Client()
    url = f"{base}/v1/chat/completions"
    found: dict[str, Callable[[], Any]] = {
        "raw httpx": lambda: json.loads(client.post(url, content=BODY, headers=HEADERS).content),
    }
    lm = LM("openai/gpt-test", api_key="k", base_url=f"{base}/v1")
    found["harness LM"] = lambda: lm("ping")
    try:
        import openai

        oa = openai.OpenAI(api_key="k", base_url=f"{base}/v1", max_retries=0)
        found["openai SDK"] = lambda: oa.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "ping"}]
        )
    except ImportError:
        pass
    try:
        import anthropic

        an = anthropic.Anthropic(api_key="k", base_url=base, max_retries=0)
        found["anthropic SDK"] = lambda: an.messages.create(
            model="claude-test", max_tokens=16, messages=[{"role": "user", "content": "ping"}]
        )
    except ImportError:
        pass
    try:
        import litellm

        found["litellm"] = lambda: litellm.completion(
            model="openai/gpt-test",
            api_base=f"{base}/v1",
            api_key="k",
            messages=[{"role": "user", "content": "ping"}],
        )
    except ImportError:
        pass
    return found


def async_contenders(base: str) -> dict[str, Callable[[], tuple[AsyncCall, Closer]]]:
    import httpx

    from harness.lm import LM

    url = f"{base}/v1/chat/completions"

    def raw_httpx() -> tuple[AsyncCall, Closer]:
        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=100))

        async def one() -> Any:
            return json.loads((await client.post(url, content=BODY, headers=HEADERS)).content)

        return one, client.aclose

    def harness_lm() -> tuple[AsyncCall, Closer]:
        lm = LM("openai/gpt-test", api_key="k", base_url=f"{base}/v1")
        return (lambda: lm.acall("ping")), lm.aclose

    found: dict[str, Callable[[], tuple[AsyncCall, Closer]]] = {
        "raw httpx": raw_httpx,
        "harness LM": harness_lm,
    }
    try:
        import openai

        def openai_sdk() -> tuple[AsyncCall, Closer]:
            oa = openai.AsyncOpenAI(api_key="k", base_url=f"{base}/v1", max_retries=0)
            return (
                lambda: oa.chat.completions.create(
                    model="gpt-test", messages=[{"role": "user", "content": "ping"}]
                )
            ), oa.close

        found["openai SDK"] = openai_sdk
    except ImportError:
        pass
    try:
        import anthropic

        def anthropic_sdk() -> tuple[AsyncCall, Closer]:
            an = anthropic.AsyncAnthropic(api_key="k", base_url=base, max_retries=0)
            return (
                lambda: an.messages.create(
                    model="claude-test",
                    max_tokens=16,
                    messages=[{"role": "user", "content": "ping"}],
                )
            ), an.close

        found["anthropic SDK"] = anthropic_sdk
    except ImportError:
        pass
    try:
        import litellm

        def litellm_sdk() -> tuple[AsyncCall, Closer]:
            return (
                lambda: litellm.acompletion(
                    model="openai/gpt-test",
                    api_base=f"{base}/v1",
                    api_key="k",
                    messages=[{"role": "user", "content": "ping"}],
                )
            ), None

        found["litellm"] = litellm_sdk
    except ImportError:
        pass
    try:
        from google import genai
        from google.genai import types

        def genai_sdk() -> tuple[AsyncCall, Closer]:
            client = genai.Client(
                api_key="k", http_options=types.HttpOptions(base_url=base, api_version="v1beta")
            )
            return (
                lambda: client.aio.models.generate_content(model="gemini-test", contents="ping")
            ), client.aio.aclose

        found["google-genai"] = genai_sdk
    except ImportError:
        pass
    return found


def import_ms(module: str, repeats: int = 15) -> float:
    """Median CPU time (user + sys) of a fresh interpreter importing ``module``, minus a
    bare start-up. CPU time, not wall time: on a shared 2-core machine wall time moves
    with whatever else runs, CPU time barely does. (POSIX only: ``os.wait4``.)"""

    def cpu(code: str) -> float:
        child = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"python -c {code!r} failed")
        return usage.ru_utime + usage.ru_stime

    samples: dict[str, list[float]] = {code: [] for code in ("pass", f"import {module}")}
    for _ in range(repeats):  # interleaved, so drifting load hits both alike
        for code, times in samples.items():
            times.append(cpu(code))
    bare, loaded = (statistics.median(times) for times in samples.values())
    return (loaded - bare) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()

    with stub_server() as base:
        print(f"sync, {args.calls} sequential calls (best of 3)")
        sync = {name: per_call_us(fn, args.calls) for name, fn in sync_contenders(base).items()}
        raw = sync["raw httpx"]
        print(f"  {'client':<16}{'us/call':>10}{'over raw httpx':>18}")
        for name, us in sync.items():
            print(f"  {name:<16}{us:>10.0f}{us - raw:>+12.0f} us {100 * (us - raw) / raw:>+4.0f}%")

        print(f"\nasync, {args.calls} calls at concurrency {args.concurrency} (best of 3)")
        print(f"  {'client':<16}{'req/s':>10}")
        for name, make in async_contenders(base).items():
            print(f"  {name:<16}{throughput(make, args.calls, args.concurrency):>10.0f}")

    print("\ncold import, CPU time (median of 15, minus interpreter start-up)")
    httpx_ms = import_ms("httpx")
    harness_ms = import_ms("harness")
    print(f"  import httpx     {httpx_ms:6.1f} ms")
    print(f"  import harness   {harness_ms:6.1f} ms   ({harness_ms / httpx_ms:.2f}x httpx)")


if __name__ == "__main__":
    main()
