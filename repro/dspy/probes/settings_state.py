"""Probe for adapter authors (not a bug check): where this release keeps dspy.settings'
state, and a reset that puts it back to a fresh import's state between specs.

Leaves state behind the way a spec can (a ``configure``, a ``context`` entered in
concurrent tasks that leave out of order, a user thread that read the settings), prints
the state, resets it, and checks that the main thread and a new thread read the defaults
and that ``configure`` is allowed again. Exit 0 when the reset works.
"""

import asyncio
import copy
import sys
import threading

import dspy


def settings_module():
    # sys.modules: ``import dsp.utils.settings as m`` binds the Settings instance that
    # dsp.utils re-exports under the module's name
    for name in ("dspy.dsp.utils.settings", "dsp.utils.settings"):  # 2.6.0+, 2.5.x
        if name in sys.modules:
            return sys.modules[name]
    raise ImportError("no DSPy settings module")


def state():
    """The attributes that hold the configuration in this release."""
    m, s = settings_module(), dspy.settings
    if "main_stack" in vars(s):  # 2.5.29-2.5.35: one stack of dicts per thread id
        return {"main_stack depth": len(s.main_stack),
                "main lm": s.main_stack[-1].get("lm"),
                "threads with a stack": len(s.stack_by_thread)}
    store = getattr(m, "thread_local_overrides", None) or m.dspy_ctx_overrides
    overrides = store.get() if hasattr(store, "get") else store.overrides
    return {"main_thread_config lm": m.main_thread_config.get("lm"),
            "this thread's overrides lm": overrides.get("lm"),
            "override store": type(store).__name__,
            "configure owner": getattr(m, "config_owner_thread_id", "n/a")}


def reset():
    m, s = settings_module(), dspy.settings
    fresh = copy.deepcopy(m.DEFAULT_CONFIG)
    if "main_stack" in vars(s):
        s.main_stack[:] = [fresh]
        for tid in [t for t in s.stack_by_thread if t != s.main_tid]:
            del s.stack_by_thread[tid]
        return
    m.main_thread_config = fresh
    for name in ("config_owner_thread_id", "config_owner_async_task"):
        if hasattr(m, name):
            setattr(m, name, None)
    store = getattr(m, "thread_local_overrides", None) or m.dspy_ctx_overrides
    if hasattr(store, "set"):  # a ContextVar: 2.5.36-2.5.39 and 3.0.0+
        store.set(type(fresh)())
    else:  # a threading.local: 2.5.40-2.6.x (the calling thread's only)
        store.overrides = type(fresh)()


async def leave_out_of_order():
    async def one(i):
        with dspy.settings.context(lm=f"task{i}"):
            await asyncio.sleep(0.001 * (3 - i))
    await asyncio.gather(*(one(i) for i in range(3)))


def main():
    dspy.settings.configure(lm="configured")
    asyncio.run(leave_out_of_order())
    thread = threading.Thread(target=lambda: dspy.settings.lm)
    thread.start()
    thread.join()
    print(f"left behind: {state()}")
    reset()
    print(f"after reset: {state()}")
    box = []
    thread = threading.Thread(target=lambda: box.append(dspy.settings.get("lm")))
    thread.start()
    thread.join()
    dspy.settings.configure(lm="again")
    ok = box == [None] and dspy.settings.lm == "again"
    print(f"new thread reads {box}, configure allowed again: {dspy.settings.lm!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
