# watcher: mpsysd's supervisor, bundled and enabled by default. It restarts
# services that fail, per each one's restart policy (backoff, start limit);
# takes a service that stops checking in as hung; counts errors; resets the
# device when errors pass a limit; and feeds the watchdog only while every
# watched service is healthy and the loop runs. Its rarely used half (the
# report, stats, reset_failed, saving, the unix port's watchdog thread) is
# aiowatcher.py, loaded when needed. What runs when the heap is full
# allocates nothing it cannot do without: errors are then counted without
# their traceback, and a reset still happens.
import asyncio
from gc import mem_free
from time import ticks_add, ticks_diff, ticks_ms

import aioctl
import aioservice
import safemode
from aioclass import Service
from aioclock import clamp

# Restart policy defaults, declared once; services.config overrides them
# per service (top-level keys of its entry). As in systemd, the window
# covers the burst: a service that fails at once every time is restarted
# after 0.1, 0.2, 0.4, 0.8 and 1.6 s, and its sixth failure, 6.3 s after
# the first, is within the 10 s window: start-limit-hit.
POLICY = {
    "restart": "on-failure",  # or "always" (also after a clean end), "no"
    "restart_delay": 0.1,  # seconds before a restart; doubles after each failure...
    "restart_delay_max": 30,  # ...up to this; back to the start after restart_window s of health
    "max_restarts": 5,  # more restarts than this...
    "restart_window": 10,  # ...within this many seconds: start-limit-hit, no more restarts
    "watchdog": 0,  # seconds a service may go without check_in() before it is hung; 0: never
}
MAX_ERROR_KINDS = 8  # exception types kept per service in the report; the rest are "other"
HUNG = "hung: no check-in"  # the error kind of a hang (its detail says for how long)
RESERVE = 512  # bytes held back for the failure path: let go when the heap is full
_MORE = ("report", "stats", "show", "reset_failed")  # in aiowatcher


class Track:
    """What the watcher knows of one service."""

    def __init__(self, name, policy):
        self.task = name + ".service"
        self.policy = policy  # the service's restart policy, over the defaults
        self.seen = ()  # the end (of the task record) handled last
        self.run = None  # the run seen running (its start, ticks_ms; no task is held)...
        self.run_since = 0
        self.ours = None  # when the last restart made by the watcher began (ticks_ms)
        self.fails = 0  # failures in a row: the backoff exponent
        self.window = 0  # ticks_ms when the current restart window began...
        self.starts = 0  # ...and the restarts in it (systemd's start limit: O(1) memory)
        self.errors = 0  # errors of this service (err_service_limit)
        self.hung = False
        self.down = False  # failed (or hung) and not running again


class WatcherService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Restarts failed services; feeds the watchdog while all is healthy"
        self.docs = "README.md#resilience"
        self.tracks = {}  # service name -> Track
        self.errors = {}  # service name -> {exception type: [count, first, last, traceback]}
        self.total_errors = 0
        self.unnoted = 0  # errors counted while the heap had no room for their details
        self.restarts = 0
        self.wdt = None  # machine.WDT on a board; None on the unix port (see task())
        self.fed = 0  # ticks_ms of the last feed
        self.beat = 0  # ticks_ms of the last tick: the unix watchdog thread reads it
        self.healthy_since = None
        self.problems = []  # why the system is not healthy now (reused every round)
        self.said = ""  # the problems last logged, so that they are logged once
        self.alarm = None  # ticks_ms the next restart alarm is set for
        self.reserve = None  # RESERVE bytes, taken when the task starts

    def __getattr__(self, attr):
        # report(), stats(), show(), reset_failed(): in aiowatcher, on first use
        if attr not in _MORE:
            raise AttributeError(attr)
        f = getattr(more(), attr)
        return lambda *a: f(self, *a)

    def note_error(self, name, exc, what=None):
        """Count an error of a service, by exception type, with its traceback
        (or what, for an error without an exception). With the heap full it
        is counted all the same, without the details that do not fit."""
        self.total_errors += 1
        try:
            kinds = self.errors.setdefault(name, {})
            kind = HUNG if what else type(exc).__name__
            if kind not in kinds and len(kinds) >= MAX_ERROR_KINDS:
                kind = "other"
            now = int(_time())
            entry = kinds.setdefault(kind, [0, now, now, ""])
            entry[0] += 1
            entry[2] = now
        except MemoryError:
            self.unnoted += 1
            self.reserve = None  # room for the rest of this failure's handling
            return
        entry[3] = what or ""
        if exc is not None:
            try:
                entry[3] = more().trace(exc)
            except MemoryError:
                pass

    def reset(self, status, why, a=None, b=None):
        """Say why (the format why with a, b), save the report and the reason,
        and reset the device. What the heap has no room for is skipped, never
        the reset."""
        try:
            if a is not None:
                why = why % ((a,) if b is None else (a, b))
        except MemoryError:
            pass  # the format still names the reason
        try:
            print("[ ERROR ] watcher: resetting: " + why)
        except MemoryError:
            print(RESETTING)
        try:
            more().save(self, why)  # the journal's line and the report file
        except Exception:  # no room to load it or to write: the reset goes on
            pass
        safemode.reset(status, why)

    # -- one round -------------------------------------------------------

    def sweep(self, now, tick):
        """Look at every service once: ends and restarts that are due; on a
        tick (every period) also hangs and services that are down."""
        t = aioctl.group()
        recs = t.recs
        for name, svc in aioservice.registry.items():
            if svc is self or not svc.loaded:
                continue
            track = self.tracks.get(name)
            if track is None:
                p = dict(POLICY, **svc.policy)
                if svc.type != "runtime.service" and "restart" not in svc.policy:
                    p["restart"] = "no"  # core services run once; schedules run by their plan
                track = self.tracks[name] = Track(name, p)
            if tick:  # stamps kept from aging past the tick horizon: wrap-safe windows
                p = track.policy
                limit = min(int(max(p["restart_window"], p["watchdog"]) * 1000) + 1, 1 << 28)
                track.window = clamp(track.window, limit)
                track.run_since = clamp(track.run_since, limit)
            rec = recs.get(track.task)
            if rec is None:
                continue
            end = rec[aioctl.END]
            if end is None:
                if tick:
                    self.running(name, svc, track, rec[aioctl.SINCE], now)
            elif type(end) is tuple and end[1] != "scheduled":
                if end is not track.seen:  # an end not handled yet
                    track.seen = end
                    self.ended(name, svc, track, end, now, rec[aioctl.SINCE])
                due = t.planned.get(track.task)
                if due is not None:
                    wait = ticks_diff(due, now)
                    if wait <= 0:
                        self.restart(name, svc, track, now)
                    elif self.alarm is None or ticks_diff(due, self.alarm) < 0:
                        self.alarm = due  # wake then, not at the next tick
                        asyncio.create_task(self.wake_in(wait))
                if tick and track.policy["watchdog"] and (due is not None or svc.limit_hit
                                                          or track.down):
                    self.problems.append(name + " down")  # a watched service that failed

    def running(self, name, svc, track, run, now):
        p = track.policy
        if run != track.run:  # a new run (restarted by us or by a user)
            track.run, track.run_since, track.down = run, now, False
            if svc.limit_hit:  # a user started it again
                self.reset_failed(name)
        if track.fails and ticks_diff(now, track.run_since) > p["restart_window"] * 1000:
            track.fails = 0  # healthy for a while: the backoff starts again
        if p["watchdog"]:
            last = svc.checked_in
            if last is None or ticks_diff(last, track.run_since) < 0:
                last = track.run_since
            quiet = ticks_diff(now, last)
            if quiet > p["watchdog"] * 1000:
                self.problems.append(name + " hung")
                if not track.hung:
                    track.hung = True
                    what = "%s for %d ms" % (HUNG, quiet)
                    self.note_error(name, None, what)
                    if self.log:
                        self.log.error("%s: %s; stopping it" % (name, what))
                    aioctl.stop(track.task)

    def ended(self, name, svc, track, end, now, since):
        p = track.policy
        state = end[1]
        if svc.limit_hit and since != track.ours:
            self.reset_failed(name)  # a user started it again, and it ended
        failed = state == "ERROR" or (state == "stopped" and track.hung)
        track.hung = False
        track.down = failed
        if state == "ERROR":
            self.note_error(name, end[2])
        elif state == "stopped" and isinstance(end[3], Exception):  # on_stop raised
            self.note_error(name, end[3])
            more().on_stop_raised(self, name, end[3])
        if failed:
            track.errors += 1
            if self.max_errors and self.total_errors >= self.max_errors:
                self.reset(safemode.EXIT_RESET, "%d errors in all (max_errors)",
                           self.total_errors)
            if self.service_limit and track.errors >= self.service_limit:
                self.reset(safemode.EXIT_RESET, "%s failed %d times (err_service_limit)",
                           name, track.errors)
        if (failed and p["restart"] != "no") or (state == "done" and p["restart"] == "always"):
            delay = min(p["restart_delay"] * 2 ** track.fails, p["restart_delay_max"])
            track.fails += 1
            # the plan sits in the task table: a user's aioctl.stop() cancels it
            t = aioctl.group()
            t.planned[track.task] = ticks_add(now, int(delay * 1000))

    async def wake_in(self, ms):
        # An alarm for a planned restart: wakes the watcher when it is due.
        await asyncio.sleep_ms(ms)
        self.alarm = None
        pulse()

    def restart(self, name, svc, track, now):
        p = track.policy
        planned = aioctl.group().planned
        if aioservice.stopping:  # shutting down: nothing comes back
            planned.pop(track.task, None)
            return
        if ticks_diff(now, track.window) > p["restart_window"] * 1000:
            track.window, track.starts = now, 0  # a new window
        if track.starts >= p["max_restarts"]:
            planned.pop(track.task, None)
            svc.limit_hit = True
            self.problems.append(name + " start-limit-hit")
            more().limit_hit(self, name, track)
            return
        aioctl.start(track.task)  # it ends the plan; on a full heap the plan stays: next round
        track.ours = aioctl.group().recs[track.task][aioctl.SINCE]
        track.starts += 1
        self.restarts += 1
        if self.log:
            self.log.info("%s: restart %d" % (name, track.starts))

    def guard(self, now, lag):
        """Feed the watchdog only when nothing is wrong; bite when starving."""
        if not self.dog:  # the unix port: the thread that plays the watchdog, once it fits
            try:
                import aiowatchdog

                aiowatchdog.watch_loop(self)
                self.dog = 1
            except MemoryError:
                pass
        if lag > self.max_lag:
            self.problems.append("event loop blocked for %d ms" % lag)
        if self.reserve is None and mem_free() > 4 * RESERVE:  # room again: take it back
            try:
                self.reserve = bytearray(RESERVE)
            except MemoryError:
                pass
        if not self.problems:
            self.fed = now
            if self.wdt:
                self.wdt.feed()
            if self.healthy_since is None:
                self.healthy_since = now
            elif ticks_diff(now, self.healthy_since) >= self.healthy_after:
                safemode.healthy()
            self.said = ""
            return
        self.healthy_since = None
        said = "; ".join(self.problems)
        if said != self.said and self.log:
            self.log.warning("not feeding the watchdog: " + said)
        self.said = said
        late = ticks_diff(now, self.fed)
        if self.wdt is None and late > self.wdt_ms:
            self.reset(safemode.EXIT_WATCHDOG, "watchdog: not fed for %d ms: %s", late, said)

    @aioctl.aiotask
    async def task(self, period=0.5, wdt_timeout=10, max_lag=2, healthy_after=60,
                   max_errors=0, err_service_limit=0, report_file=None, log=None,
                   loglevel="INFO"):
        self.add_logger(log, level=loglevel)
        self.max_errors, self.service_limit = max_errors, err_service_limit
        self.report_file = report_file
        self.max_lag, self.healthy_after = max_lag * 1000, healthy_after * 1000
        self.wdt_ms = int(wdt_timeout * 1000)
        self.period_ms = int(period * 1000)
        self.lag = 0
        self.ticked = False
        self.fed = self.beat = ticks_ms()
        self.reserve = bytearray(RESERVE)
        self.dog = 0
        try:
            from machine import WDT

            self.wdt = WDT(timeout=self.wdt_ms)
            self.dog = 1
        except ImportError:  # the unix port: guard() and a thread play the watchdog
            pass
        import aiotasks

        ticker = asyncio.create_task(self.tick())
        bad = False
        try:
            while True:  # a round at once, then one each time something happens
                now = ticks_ms()
                tick, self.ticked = self.ticked, False
                if tick:
                    self.problems.clear()
                try:
                    self.sweep(now, tick)
                    if tick:
                        self.guard(now, self.lag)
                    bad = False
                except Exception as e:  # the supervisor outlives a bad round (a reset ends it)
                    self.reserve = None  # a full heap, most likely: room for the next round
                    self.note_error(self.name, e)
                    if not bad:  # once, not every round while the heap is full
                        bad = True
                        try:
                            print("[ ERROR ] watcher: %s: %s" % (type(e).__name__, e))
                        except MemoryError:
                            print(NO_ROOM)
                try:  # woken by any task's end, by a due restart and by the tick
                    await aiotasks.ended()
                except MemoryError:  # no room for a waiter: look again in a period
                    await asyncio.sleep_ms(self.period_ms)
        except asyncio.CancelledError:
            self.stopped()
            raise
        finally:
            ticker.cancel()

    def stopped(self):
        # Supervision must not end silently: a stop, delete or unload of the
        # watcher (but a restart, or the shutdown) resets the device, saying why.
        rec = aioctl.group().recs.get(self.name + ".service")
        if aioservice.stopping or (rec and (rec[aioctl.END] == aioctl.RESTART or
                                            rec[aioctl.TASK] is not asyncio.current_task())):
            return  # restarting, shutting down, or replaced by a new run
        self.reset(safemode.EXIT_RESET, "watcher.service was stopped or deleted: without "
                   "supervision the device resets")

    async def tick(self):
        # Every period: a round that also checks hangs and feeds the watchdog.
        # How late this sleep wakes is the loop's lag.
        period_ms = self.period_ms
        last = ticks_ms()
        while True:
            await asyncio.sleep_ms(period_ms)
            now = self.beat = ticks_ms()
            self.lag = ticks_diff(now, last) - period_ms
            last = now
            self.ticked = True
            pulse()


RESETTING = "[ ERROR ] watcher: resetting (no room to say why)"
NO_ROOM = "[ ERROR ] watcher: MemoryError (errors are counted without details)"


def pulse():
    ev = aioctl.group().changed
    if ev:
        ev.set()
        ev.clear()


def _time():
    from time import time

    return time()


def more():
    """aiowatcher: the rarely used half, imported on first use."""
    import aiowatcher

    return aiowatcher


service = WatcherService("watcher")
