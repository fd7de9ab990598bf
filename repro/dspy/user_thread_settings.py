"""Reading dspy.settings outside the main thread must not raise (stanfordnlp/dspy#1812).

DSPy 2.5.30 kept the settings in a dict keyed by thread id, filled only for the main
thread and DSPy's own ParallelExecutor workers (#1810), so a plain ``threading.Thread``,
a plain ``ThreadPoolExecutor`` task and asyncify's anyio worker raised ``KeyError`` on
``dspy.settings.lm``; #1813 relaxed it to a warning. This reads the configured value in
each of those threads, with no ``context()`` anywhere: each must return the process
default, without error. Settings only, no LM is called.
"""

import asyncio
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import dspy


def read():
    try:
        return dspy.settings.lm
    except Exception as error:  # the bug: any error here
        return error


def in_thread():
    box = []
    thread = threading.Thread(target=lambda: box.append(read()))
    thread.start()
    thread.join()
    return box[0]


def main():
    dspy.settings.configure(lm="default")
    seen = {}
    if hasattr(dspy, "asyncify"):  # first: see FINDINGS.md on reused thread ids (2.5.32-2.5.35)
        seen["asyncify worker"] = asyncio.run(dspy.asyncify(read)())
    seen["threading.Thread"] = in_thread()
    with ThreadPoolExecutor(max_workers=1) as pool:
        seen["ThreadPoolExecutor"] = pool.submit(read).result()
    bad = False
    for where, got in seen.items():
        print(f"{where}: {got!r}")
        bad = bad or got != "default"
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
