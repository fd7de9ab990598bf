"""DSPy's own workers must start after a user thread has read the settings and exited
(the "bare AssertionError" of 2.5.32-2.5.35; no upstream issue number known).

In 2.5.30-2.5.35 ``asyncify`` and ``ParallelExecutor`` register their worker's thread id
in the settings' per-thread dict and assert that it was not there yet. From 2.5.32 any
user thread that reads ``dspy.settings`` also leaves an entry behind (the copy-on-first-read
of 2.5.29 came back), and the C library hands the id of a finished thread to the next
new one: the next DSPy worker on that id fails the assertion. 2.5.36 replaced the dict.

A user thread reads the settings and exits, then ``asyncify`` and ``dspy.Parallel`` run
a task; several rounds, since id reuse is the C library's choice. Settings only.
"""

import asyncio
import sys
import threading

import dspy


def read():
    return dspy.settings.lm


def user_thread():
    thread = threading.Thread(target=read)
    thread.start()
    thread.join()


def main():
    if not hasattr(dspy, "asyncify"):
        print("no dspy.asyncify in this release")
        print("VERDICT: ABSENT")
        return 3
    dspy.settings.configure(lm="default")
    failures = []
    for _ in range(5):
        user_thread()
        try:
            asyncio.run(dspy.asyncify(read)())
        except Exception as error:
            failures.append(("asyncify", error))
        user_thread()
        try:
            results = dspy.Parallel(num_threads=2, disable_progress_bar=True)([(read, ())])
            if results != ["default"]:
                failures.append(("Parallel", results))
        except Exception as error:
            failures.append(("Parallel", error))
    print(f"{len(failures)} failures in 5 rounds: {failures[:4]}")
    if any(isinstance(f, KeyError) for _, f in failures):
        print("VERDICT: BLOCKED")  # 2.5.30: the read itself raises (user_thread_settings.py)
        return 2
    print("VERDICT: BUG" if failures else "VERDICT: OK")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
