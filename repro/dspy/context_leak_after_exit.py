"""After a context() block on the main thread exits, new threads must see the process
default again (DSPy 2.5.36, fixed in 2.5.37; no upstream issue number known).

2.5.36 (the ContextVar settings of #1852) made ``context()`` on the main thread replace
the global config with the block's overrides and never put it back on exit; 2.5.37 restores
it in the ``finally`` of ``context()``. This enters and leaves a block on the main thread,
then reads ``dspy.settings.lm`` in a new ``threading.Thread``, a new plain
``ThreadPoolExecutor`` and on the main thread itself: each must be the default. (What
threads see *during* the block is ``main_context_in_user_threads.py``.)

Settings only, no LM is called. (In 2.5.30 any read in a user thread raises:
``user_thread_settings.py``; reported here as BLOCKED.)
"""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import dspy


def read():
    try:
        return dspy.settings.lm
    except Exception as error:
        return error


def main():
    dspy.settings.configure(lm="default")
    with dspy.settings.context(lm="scoped"):
        pass
    box = {}
    thread = threading.Thread(target=lambda: box.update({"new threading.Thread": read()}))
    thread.start()
    thread.join()
    with ThreadPoolExecutor(max_workers=1) as pool:
        box["new ThreadPoolExecutor"] = pool.submit(read).result()
    box["main thread"] = read()
    if any(isinstance(got, Exception) for got in box.values()):
        print(f"reading the settings raised: {box}")
        print("VERDICT: BLOCKED")
        return 2
    for where, got in box.items():
        print(f"after the block exited, {where}: {got!r}")
    bad = any(got != "default" for got in box.values())
    print("VERDICT: BUG" if bad else "VERDICT: OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
