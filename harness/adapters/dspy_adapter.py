"""DSPy held to the suite: its settings, ``context``, ``asyncify``, ``Parallel``,
``streamify`` and ``Predict``, on every release from 2.5.29 to the latest 3.x.

**The client** is a ``DelegatingLM``: a ``dspy.LM`` subclass whose ``__call__`` and
``acall`` (what DSPy's adapters call, on every release) hand the request to the
reference client ``harness.lm.LM`` and return DSPy's list of completion strings; the
harness ``Response`` of each call is kept for the suite. So what is under test is
DSPy's machinery around an LM: where the settings are kept, how ``context`` scopes
them, how each primitive carries them to its worker, and (the ``program`` hook) its
own call path from a signature to a parsed answer. ``call``/``acall`` are the
delegating LM's own calls (no DSPy code in between; ``params`` pass through, tools
and ``tool_choice`` too). ``dspy.LM.__init__`` gets a neutral model string (it
validates some model names, e.g. OpenAI reasoning models, against its sampling
defaults); ``DelegatingLM.model`` is then the real ``provider/model``. (3.4 also has
custom ``engine=`` objects; a subclass is the one shape every release accepts.)

**Context**: ``configure`` is ``dspy.settings.configure(lm=...)``, ``context`` is
``dspy.settings.context(lm=...)``, ``current`` reads ``dspy.settings.lm``.

**Primitives** (the protocol: the framework's own primitive where it has one):

- ``submit(fn)``: ``dspy.Parallel(num_threads=2)([(fn, ())])`` (DSPy's
  ``ParallelExecutor``, a fresh pool per call) from 2.5.30; on 2.5.29, which has no
  ``Parallel``, ``dspy.Evaluate`` over a one-example devset (its own
  ``ThreadPoolExecutor``, the primitive stanfordnlp/dspy#1766 was reported on). Never a
  plain executor: the specs that hold a plain pool to the contract make their own.
- ``parallel(fns)``: the same primitive over every program, on ``PARALLEL_THREADS``
  threads; each program runs wrapped so that its exception comes back in its slot
  (``Parallel`` itself logs a failure, puts ``None`` there and gives up after
  ``max_errors``).
- ``asyncify(fn)``: ``dspy.asyncify(fn)()`` (2.5.30 on; absent before: not supported).
- ``stream``/``astream`` and the deferred ``stream_later``/``astream_later``:
  ``dspy.streamify(program)(...)`` (2.6.0 on; absent before: not supported), the sync
  ones consumed with ``asyncio.run``. The program streams through the delegating LM
  (``harness.LM.stream``) and returns the consumed ``StreamResult`` in its final
  ``Prediction``: DSPy's token chunks come from litellm, which the delegating LM
  replaces. ``stream``/``astream`` stream on the client given; the deferred programs
  read ``dspy.settings.lm`` when they run, as a DSPy program does.

**Program** (features ``program``, ``aprogram``): one ``dspy.Predict("question ->
answer")`` per adapter, asked the scenario's single user message as ``question``;
the ``Response`` is the one its LM call got, with the parsed ``answer`` as its text.
The Predict reads ``dspy.settings.lm`` itself when that is the client asked for (the
runner asks for the one the caller's context selects), else gets ``lm=client``.
``aprogram`` is ``Predict.acall`` (2.6.19 on; not supported before).

**Reset** (before every regression spec): DSPy's settings back to a fresh import's,
per release family (repro/dspy/FINDINGS.md): 2.5.29-2.5.35 keep a stack of config
dicts per thread id (``main_stack``, ``stack_by_thread``; every ``configure`` appends,
every thread that read the settings keeps an entry); later releases a global
``main_thread_config`` plus per-thread (``threading.local``, 2.5.40-2.6.x) or per-task
(``ContextVar``, 2.5.36-2.5.39 and 3.x) overrides, and 2.6+ the thread (3.x: task)
that may ``configure``. A worker thread's ``threading.local`` cannot be reached from
here: the adapter keeps no pool of its own (DSPy's primitives start theirs per call).
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from importlib import metadata
from typing import Any

from harness.adapters.base import ClientAdapter, StreamResult, Target
from harness.adapters.reference import connect_lm
from harness.lm import LM
from harness.types import Message, Response

PARALLEL_THREADS = 2
"""Threads of each ``parallel`` call: fewer than the programs the specs run (3 or 4)."""
NEUTRAL_MODEL = "openai/harness-delegate"
"""The model string ``dspy.LM.__init__`` sees (see the module docstring)."""
SIGNATURE = "question -> answer"

_responses: ContextVar[list[Response] | None] = ContextVar("dspy_adapter_responses", default=None)
"""Where the delegating LM puts the ``Response`` of each call a program makes."""


@dataclass(frozen=True)
class Release:
    """What the installed DSPy has."""

    version: str
    asyncify: bool
    parallel: bool
    streamify: bool
    predict_acall: bool
    stacks: bool
    """2.5.29-2.5.35: settings are stacks of config dicts keyed by thread id."""


def detect() -> Release:
    import dspy

    return Release(
        version=metadata.version("dspy"),
        asyncify=hasattr(dspy, "asyncify"),
        parallel=hasattr(dspy, "Parallel"),
        streamify=hasattr(dspy, "streamify"),
        predict_acall=hasattr(dspy.Predict, "acall"),
        stacks="main_stack" in vars(dspy.settings),
    )


@dataclass
class _Captured:
    """A program's result or exception, carried through a DSPy primitive untouched."""

    value: Any = None
    error: BaseException | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _capture(fn: Callable[[], Any]) -> _Captured:
    try:
        return _Captured(fn())
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # handed back to the caller, never swallowed
        return _Captured(error=exc)


_LM_CLASS: type[Any] | None = None


def delegating_lm_class() -> type[Any]:
    """``DelegatingLM``, a ``dspy.LM`` subclass (defined on first use: DSPy is imported
    lazily)."""
    global _LM_CLASS
    if _LM_CLASS is not None:
        return _LM_CLASS
    import dspy

    class DelegatingLM(dspy.LM):  # type: ignore[misc]
        """A DSPy LM whose calls are sent by ``harness.lm.LM``."""

        def __init__(self, delegate: LM) -> None:
            super().__init__(NEUTRAL_MODEL)
            self.model = delegate.model
            self.delegate = delegate

        def __repr__(self) -> str:
            return f"DelegatingLM({self.model!r})"

        def respond(self, messages: Sequence[Message], params: dict[str, Any]) -> Response:
            return self.delegate(list(messages), **params)

        async def arespond(self, messages: Sequence[Message], params: dict[str, Any]) -> Response:
            return await self.delegate.acall(list(messages), **params)

        def stream_result(
            self, messages: Sequence[Message], params: dict[str, Any]
        ) -> StreamResult:
            with self.delegate.stream(list(messages), **params) as stream:
                events = tuple(stream)
            return StreamResult(events, stream.response)

        # what DSPy's adapters call
        def __call__(
            self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None, **_: Any
        ) -> list[str]:
            response = self.delegate(_from_dspy(prompt, messages))
            _keep(response)
            return [response.text]

        async def acall(
            self, prompt: str | None = None, messages: list[dict[str, Any]] | None = None, **_: Any
        ) -> list[str]:
            response = await self.delegate.acall(_from_dspy(prompt, messages))
            _keep(response)
            return [response.text]

    _LM_CLASS = DelegatingLM
    return DelegatingLM


def _keep(response: Response) -> None:
    kept = _responses.get()
    if kept is not None:
        kept.append(response)


def _from_dspy(prompt: str | None, messages: list[dict[str, Any]] | None) -> list[Message]:
    """DSPy's chat messages (``{"role", "content"}``, text only) as harness messages."""
    if messages is None:
        return [Message.user(prompt or "")]
    made = []
    for message in messages:
        content = message.get("content") or ""
        if not isinstance(content, str):  # a list of parts: the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        role = message.get("role")
        if role == "system":
            made.append(Message.system(content))
        elif role == "assistant":
            made.append(Message.assistant(content))
        else:
            made.append(Message.user(content))
    return made


def settings_module() -> Any:
    """The module holding DSPy's settings state (``import dsp.utils.settings as m``
    would bind the ``Settings`` instance that ``dsp.utils`` re-exports instead)."""
    for name in ("dspy.dsp.utils.settings", "dsp.utils.settings"):  # 2.6.0+, 2.5.x
        if name in sys.modules:
            return sys.modules[name]
    raise ImportError("no DSPy settings module")


class DSPyAdapter(ClientAdapter):
    """Holds DSPy to the suite (see the module docstring)."""

    name = "dspy"
    library = "dspy"

    def __init__(self) -> None:
        if importlib.util.find_spec("dspy") is None:
            raise ImportError("No module named 'dspy'")
        self.release = detect()
        self._predict: Any = None
        self._predict_lock = threading.Lock()

    def supports(self, feature: str, provider: str) -> bool:
        return feature in self.features()

    def features(self) -> frozenset[str]:
        release = self.release
        found = {
            "call",
            "acall",
            "context",
            "thread_pool",
            "parallel",
            "transport",
            "base_url",
            "tool_choice",
            "reasoning",
            "program",
        }
        if release.asyncify:
            found.add("asyncify")
        if release.streamify:
            found |= {"stream", "astream", "deferred"}
        if release.predict_acall:
            found.add("aprogram")
        return frozenset(found)

    def connect(self, target: Target) -> Any:
        return delegating_lm_class()(connect_lm(target))

    def close(self, client: Any) -> None:
        client.delegate.close()

    def reset(self) -> None:
        import dspy

        module, current = settings_module(), dspy.settings
        fresh = copy.deepcopy(module.DEFAULT_CONFIG)
        if self.release.stacks:  # 2.5.29-2.5.35
            current.main_stack[:] = [fresh]
            for ident in [i for i in current.stack_by_thread if i != current.main_tid]:
                del current.stack_by_thread[ident]
            return
        module.main_thread_config = fresh
        for name in ("config_owner_thread_id", "config_owner_async_task"):
            if hasattr(module, name):
                setattr(module, name, None)
        store = getattr(module, "thread_local_overrides", None) or module.dspy_ctx_overrides
        if hasattr(store, "set"):  # a ContextVar: 2.5.36-2.5.39 and 3.x
            store.set(type(fresh)())
        else:  # a threading.local: 2.5.40-2.6.x (the calling thread's)
            store.overrides = type(fresh)()

    # --- calls ---------------------------------------------------------------------------

    def call(self, client: Any, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        return client.respond(messages, params)  # type: ignore[no-any-return]

    async def acall(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        return await client.arespond(messages, params)  # type: ignore[no-any-return]

    def stream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        return _run(_drain(self._streamed(lambda: client, messages, params)))

    async def astream(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> StreamResult:
        return await _drain(self._streamed(lambda: client, messages, params))

    def stream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], StreamResult]:
        stream = self._streamed(self.current, messages, params)  # created now
        return lambda: _run(_drain(stream))

    def astream_later(
        self, messages: Sequence[Message], params: dict[str, Any]
    ) -> Callable[[], Awaitable[StreamResult]]:
        stream = self._streamed(self.current, messages, params)
        return lambda: _drain(stream)

    def _streamed(
        self, pick: Callable[[], Any], messages: Sequence[Message], params: dict[str, Any]
    ) -> Any:
        """``dspy.streamify(program)()``: an async generator whose program, when it runs,
        streams on the client ``pick()`` gives then."""
        import dspy

        def program() -> Any:
            return dspy.Prediction(outcome=_capture(lambda: pick().stream_result(messages, params)))

        return dspy.streamify(program)()

    # --- the program hook ----------------------------------------------------------------

    def _program(self) -> Any:
        with self._predict_lock:
            if self._predict is None:
                import dspy

                self._predict = dspy.Predict(SIGNATURE)
            return self._predict

    def _question(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> dict[str, Any]:
        if params or len(messages) != 1 or messages[0].role != "user":
            raise ValueError("the DSPy program answers one user message, with no parameters")
        import dspy

        inputs: dict[str, Any] = {"question": messages[0].content}
        if client is not dspy.settings.lm:
            inputs["lm"] = client
        return inputs

    def program(self, client: Any, messages: Sequence[Message], params: dict[str, Any]) -> Response:
        inputs = self._question(client, messages, params)
        token = _responses.set([])
        try:
            prediction = self._program()(**inputs)
            return _answered(_responses.get(), prediction)
        finally:
            _responses.reset(token)

    async def aprogram(
        self, client: Any, messages: Sequence[Message], params: dict[str, Any]
    ) -> Response:
        inputs = self._question(client, messages, params)
        token = _responses.set([])
        try:
            prediction = await self._program().acall(**inputs)
            return _answered(_responses.get(), prediction)
        finally:
            _responses.reset(token)

    # --- context primitives ----------------------------------------------------------------

    def configure(self, client: Any) -> None:
        import dspy

        dspy.settings.configure(lm=client)

    def context(self, client: Any) -> AbstractContextManager[Any]:
        import dspy

        return dspy.settings.context(lm=client)  # type: ignore[no-any-return]

    def current(self) -> Any:
        import dspy

        return dspy.settings.lm

    def submit(self, fn: Callable[[], Any]) -> Any:
        return self._run_all([fn], threads=PARALLEL_THREADS)[0].unwrap()

    def parallel(self, fns: Sequence[Callable[[], Any]]) -> list[Any]:
        return [
            outcome.error if outcome.error is not None else outcome.value
            for outcome in self._run_all(fns, threads=PARALLEL_THREADS)
        ]

    def _run_all(self, fns: Sequence[Callable[[], Any]], threads: int) -> list[_Captured]:
        import dspy

        def runner(fn: Callable[[], Any]) -> Callable[[], _Captured]:
            return lambda: _capture(fn)

        if self.release.parallel:
            run = dspy.Parallel(num_threads=threads, disable_progress_bar=True)
            results = run([(runner(fn), ()) for fn in fns])
        else:
            results = _evaluate([runner(fn) for fn in fns], threads)
        return [
            r if isinstance(r, _Captured) else _Captured(error=RuntimeError(f"DSPy gave {r!r}"))
            for r in results
        ]

    def asyncify(self, fn: Callable[[], Any]) -> Awaitable[Any]:
        import dspy

        return dspy.asyncify(fn)()  # type: ignore[no-any-return]


def _evaluate(fns: Sequence[Callable[[], _Captured]], threads: int) -> list[Any]:
    """Run ``fns`` through ``dspy.Evaluate`` (2.5.29's only thread primitive), in order."""
    import dspy

    class Programs(dspy.Module):  # type: ignore[misc]
        def forward(self, index: int) -> Any:
            return dspy.Prediction(outcome=fns[index]())

    devset = [dspy.Example(index=i).with_inputs("index") for i in range(len(fns))]
    evaluate = dspy.Evaluate(
        devset=devset,
        metric=lambda *_: True,
        num_threads=threads,
        display_progress=False,
        max_errors=len(fns) + 1,
        return_outputs=True,
    )
    _, results = evaluate(Programs())
    return [prediction.get("outcome") for _, prediction, _ in results]


def _answered(responses: list[Response] | None, prediction: Any) -> Response:
    if not responses:
        raise RuntimeError("the DSPy program made no LM call")
    return replace(responses[-1], text=str(prediction.answer))


async def _drain(stream: Any) -> StreamResult:
    """Consume a ``streamify`` generator; the ``StreamResult`` of its final Prediction."""
    import dspy

    last = None
    async for value in stream:
        if isinstance(value, dspy.Prediction):
            last = value
    if last is None:
        raise RuntimeError("the DSPy stream ended without a Prediction")
    return last.outcome.unwrap()  # type: ignore[no-any-return]


def _run(awaitable: Awaitable[StreamResult]) -> StreamResult:
    async def main() -> StreamResult:
        return await awaitable

    return asyncio.run(main())


__all__ = ["DSPyAdapter", "Release", "delegating_lm_class", "detect", "settings_module"]
