# aiotop: the views of the whole system, loaded through aioctl's module
# __getattr__ when asked for and let go of after: top() (one screen, like
# a tiny top), stats() and info() (dicts for tools) and result_all().
import sys
import time

import aioctl


def result_all(as_dict=False):
    res = {n: aioctl.result(n) for n in aioctl.select()}
    if as_dict:
        return res
    from aioview import masked  # an error may quote a secret

    for n in sorted(res):
        print(masked("%s --> %r" % (n, res[n])))


def top():
    """One screen about the whole system, like a tiny top."""
    import gc

    import aioclock
    from aioview import FAILED, span

    t = aioctl.group()
    counts = {}
    sch = sys.modules.get("aioschedule")
    for n in aioctl.select():
        state = _state(t.tasks[n].state, n, sch)
        counts[state] = counts.get(state, 0) + 1
    lag = aioclock.lag_ms
    gc.collect()  # the views made above are garbage: free is what is there
    free = gc.mem_free()
    print("mpsysd: up %s; heap %d B used, %d B free (largest block %s); loop lag %s" % (
        span(time.ticks_diff(time.ticks_ms(), t.started) // 1000), gc.mem_alloc(), free,
        largest(free), "%d ms (max %d ms)" % (lag, aioclock.lag_max_ms) if lag is not None
        else "not measured"))
    print("tasks: %d (%s)" % (sum(counts.values()), ", ".join(
        "%s %d" % (s, counts[s]) for s in sorted(counts))))
    failed = counts.get("ERROR", 0) + counts.get("failed", 0)
    reg = sys.modules.get("aioservice")
    if reg:
        loaded = [n for n, s in reg.registry.items() if s.loaded]
        down = [n for n in loaded if n + ".service" not in t.recs
                or t.tasks[n + ".service"].state in FAILED + ("stopped",)]
        broken = [n for n in reg.errors if n in reg.registry and n not in loaded]
        print("services: %d loaded, %d not running, %d not loaded; errors: %d" % (
            len(loaded), len(down), len(broken), failed + len(broken)))
    else:
        print("errors: %d" % failed)


def _state(state, name, sch):
    # As status() says it: a task between two runs of its schedule is scheduled
    if state in ("done", "stopped") and sch and sch.next_run(name) is not None:
        return "scheduled"
    return state


def largest(free):
    """The largest free block, as top() says it: what the next big allocation
    (a module's code, a table that grows) can have when free is in pieces.
    MicroPython has no call for it, so it is found by allocating and letting
    go, bisecting to a 32-bit GC block; past 64 KB the exact size is not
    worth the zeroing (a board with PSRAM has megabytes)."""
    lo, hi = 0, min(free, 65536) + 1  # lo fits, hi does not
    while hi - lo > 16:
        mid = (lo + hi) // 2
        try:
            bytearray(mid)
            lo = mid
        except MemoryError:
            hi = mid
    return "%d B" % lo if lo < 65536 - 16 else "64 KB or more"


def _own_stats(name):
    # {task name: its service's own stats()} for the tasks name picks. In a
    # frame of its own: what a service loaded for it (the watcher's code)
    # is not held by a stale slot of the caller's while info() runs.
    own = {}
    reg = sys.modules.get("aioservice")
    for n in aioctl.select(name):
        svc = reg.service(n) if reg and n.endswith(".service") else None
        try:  # (asked once: the watcher loads its code for it)
            stats = getattr(svc, "stats", None)
            if stats is not None:
                own[n] = stats()
        except Exception as e:
            from aioview import error_line

            own[n] = {"error": error_line(e)}
    return own


def stats(name=None):
    """{task name: dict} for tools: info() plus each service's own stats().
    Those are asked for first: the code one loads for it (the watcher's)
    has gone before the views' code (aioview) loads for info()."""
    own = _own_stats(name)
    out = {}
    for d in info(name):
        if d["name"] in own:
            d["stats"] = own[d["name"]]
        out[d["name"]] = d
    return out


def info(name=None):
    from aioview import FAILED, error_line

    out = []
    sch = sys.modules.get("aioschedule")
    for n in aioctl.select(name):
        v = aioctl.group().tasks[n]
        state = v.state  # (a property that reads the record: read once)
        d = {"name": n, "state": _state(state, n, sch), "since": v.since, "done_at": v.done_at}
        if state in FAILED:
            d["error"] = error_line(v.result)
        else:
            d["result"] = v.result
        out.append(d)
    return out
