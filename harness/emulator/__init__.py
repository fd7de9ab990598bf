"""A scripted emulator of the OpenAI, Anthropic, Gemini and Bedrock wire formats.

The conformance cassettes cannot be recorded against the real services here (no keys, no
network), so they are recorded against this emulator: a script of steps, one per request,
each rendered in the wire format of the provider the request was sent to, with bodies
shaped like the real services' (checked against the recorded corpus by
tests/test_emulator_shapes.py)::

    em = Emulator([Reply("Hi!"), Fault(429, "slow down", retry_after=1)])
    lm = LM("openai/gpt-4o-mini", api_key="k", transport=EmulatorTransport(em))

- steps: ``Reply``, ``Fault``, ``Slow``, ``CutStream``, ``StreamFault``, ``Malformed``, ``Drop``;
- ``Emulator``: the sans-I/O core (``handle`` -> ``EmulatedResponse``);
- ``EmulatorTransport``: in-process, for ``httpx.Client`` and ``httpx.AsyncClient``
  (vcrpy records through it);
- ``serve`` + ``client_options``: the same emulator on a loopback HTTP server, serving
  the providers' own paths (``public_origin`` is where they would have gone).

Ids, timestamps and paddings are derived from the provider and the request's position in
the script, never from randomness or the clock, so re-recording gives identical bodies.
"""

from harness.emulator.bedrock import encode_frame
from harness.emulator.core import (
    EmulatedRequest,
    EmulatedResponse,
    Emulator,
    stream_fault_status,
)
from harness.emulator.script import (
    CutStream,
    Drop,
    Fault,
    Malformed,
    Reply,
    Slow,
    Step,
    StreamFault,
)
from harness.emulator.shells import (
    EmulatorTransport,
    LoopbackServer,
    client_options,
    public_origin,
    serve,
)
from harness.emulator.snapshots import returned_model

__all__ = [
    "CutStream",
    "Drop",
    "EmulatedRequest",
    "EmulatedResponse",
    "Emulator",
    "EmulatorTransport",
    "Fault",
    "LoopbackServer",
    "Malformed",
    "Reply",
    "Slow",
    "Step",
    "StreamFault",
    "client_options",
    "encode_frame",
    "public_origin",
    "returned_model",
    "serve",
    "stream_fault_status",
]
