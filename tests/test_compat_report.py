"""compat/matrix.py's verdicts: pre-releases are judged by the range, a provider the adapter
lacks hides no pass, an open range says where the bug is still present, and an entry with
no installable release inside its range is reported untestable."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compat_matrix", ROOT / "compat" / "matrix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compat_matrix"] = module
    spec.loader.exec_module(module)
    return module


def test_pre_releases_are_judged_by_the_range(matrix: ModuleType) -> None:
    cells = {"0.26": "fail", "0.32a2": "fail", "0.32a3": "pass", "0.36": "pass"}
    assert matrix.separates((">=0.26,<0.32a3",), cells) == ("yes", "")
    still = {"0.26": "fail", "0.32a3": "fail", "0.36": "fail"}
    assert matrix.separates((">=0.26",), still) == ("yes", "")
    assert matrix.separates((">=0.26",), {**still, "0.32a3": "pass"})[0] == "no"


def test_a_provider_the_adapter_lacks_hides_no_pass(matrix: ModuleType) -> None:
    assert matrix._worse("not supported", "pass") == "pass"
    assert matrix._worse("pass", "not supported") == "pass"
    assert matrix._worse("pass", "fail") == "fail"
    assert matrix._worse(None, "not supported") == "not supported"


def write(directory: Path, library: str, release: str, rows: list[tuple[str, str, str]]) -> None:
    results = [
        {"scenario": f"regression/{spec}", "provider": "gemini", "mode": mode, "outcome": outcome}
        for spec, mode, outcome in rows
    ]
    document = {"library": library, "release": release, "results": results}
    (directory / f"{library}-{release}.json").write_text(json.dumps(document))


def test_the_report_says_still_present_and_untestable(
    matrix: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matrix, "REPORTS", tmp_path)
    for release, reasoning in (("1.72.0", "pass"), ("1.110.2", "fail")):
        write(
            tmp_path,
            "litellm",
            release,
            [
                ("gemini_stream_reasoning_tokens", "stream", reasoning),
                ("stream_chunk_parity", "astream", "pass"),
            ],
        )
    text = matrix.render("litellm")
    assert "| gemini_stream_reasoning_tokens / stream | >=1.73.0 (still present in 1.110.2) |" in (
        text
    )
    assert "- (no tested release is inside a range; passes on all)" in text
    assert "Rows of litellm's entries: 1 separate, 0 do not, 0 untested, 1 with no tested" in text
