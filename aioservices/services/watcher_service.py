# watcher: mpsysd's supervisor, bundled and enabled by default. It restarts
# services that fail, per each one's restart policy (backoff, start limit);
# takes a service that stops checking in as hung; counts errors; resets the
# device when errors pass a limit; and feeds the watchdog only while every
# watched service is healthy and the loop runs.
# This half stays loaded for as long as the app runs, so it holds only the
# steady path. aiowatcher.py has the rest (describing an error, the report,
# stats, show, the lines said at a start limit or a reset, saving the
# report), loaded when needed and let go of after 20 rounds (2 s at least)
# without an error (a view's call lets go of it at once). On a full heap it allocates
# nothing it can do without: errors are then counted without their details
# (aiowatcher does not fit), and a reset still happens.
import asyncio
import sys
from gc import mem_free
from time import ticks_add, ticks_diff, ticks_ms

from micropython import const

import aioctl
import aiojob
import aioservice
import safemode
from aioclass import Service
from aioclock import clamp

# Restart policy defaults, declared once; services.config overrides them
# per service (top-level keys of its entry). As in systemd, the window
# covers the burst: a service that fails at once every time is restarted
# after 0.1, 0.2, 0.4, 0.8 and 1.6 s, and its sixth failure, 6.3 s after
# the first, is within the 10 s window: start-limit-hit.
# (Keyword syntax: the keys are then names, which cost less RAM than strings.)
POLICY = dict(
    restart="on-failure",  # or "always" (also after a clean end), "no"
    restart_delay=0.1,  # seconds before a restart; doubles after each failure...
    restart_delay_max=30,  # ...up to this; back to the start after restart_window s of health
    max_restarts=5,  # more restarts than this...
    restart_window=10,  # ...within this many seconds: start-limit-hit, no more restarts
    watchdog=0,  # seconds a service may go without check_in() before it is hung; 0: never
)
# Bytes held back for the failure path, let go when the heap is full. The
# bench's greedy soak (a service that fills the heap, failing at once, all
# the time) restarts it as often with 256 as it did with 512.
_RESERVE = const(256)
# Stamps (window starts) are kept from aging past this many ms (3.1 days):
# under the tick horizon (2^29 ms), they compare rightly, wrap or not.
# Restart windows and watchdog periods are shorter.
_AGE = const(1 << 28)

# What the watcher knows of a service, its track, is a list (an object with
# as many attributes costs three times the RAM). Its slots:
_TASK = const(0)  # the task's name, "name.service"
_RUN = const(1)  # the run seen last (its start, the record's SINCE; no task is held)...
_SINCE = const(2)  # ...and when the watcher first saw it (ticks_ms)
_HUNG = const(3)  # that run was found hung
_SEEN = const(4)  # the end (of the task record) handled last
_FAILS = const(5)  # failures in a row: the backoff exponent
_WINDOW = const(6)  # ticks_ms when the current restart window began...
_STARTS = const(7)  # ...and the restarts in it (systemd's start limit: O(1) memory)
# (aiowatcher.reset_failed clears _FAILS and _STARTS: it has their indexes too)
_ERRORS = const(8)  # errors of this service (err_service_limit)


class WatcherService(Service):
    info = "Restarts failed services; feeds the watchdog while healthy"
    docs = "README.md#resilience"
    # Read before the task runs (by report(), show()): class-level defaults
    # until set (the counters by task(), at once; the rest when first needed).
    # The instance holds 28 attributes at most: its table (29) never grows.
    restarts = total_errors = unnoted = 0  # unnoted: errors counted without details
    noted = 0  # ticks_ms of the last error
    healthy_since = None
    said = ""  # the problems last logged, so that they are logged once

    def __init__(self, name):
        super().__init__(name)
        self.tracks = {}  # service name -> its track (a list, above)
        self.errors = {}  # service name -> {kind: [count, first, last, traceback]}

    def __getattr__(self, attr):
        # report(), stats(), show(), reset_failed(): aiowatcher's, loaded for the call
        if attr not in ("report", "stats", "show", "reset_failed"):
            raise AttributeError(attr)
        kept = "aiowatcher" in sys.modules  # loaded for a failure: it stays till errors stop
        import aiowatcher

        if not kept:
            del sys.modules["aiowatcher"]  # the caller's hold on the function keeps it alive
        return getattr(aiowatcher, attr)

    def note(self, name, exc, what=None):
        """Count an error of a service; aiowatcher describes it (see note()
        there for what). With the heap full it is counted all the same."""
        self.total_errors += 1
        self.noted = ticks_ms()
        try:
            import aiowatcher

            aiowatcher.note(self, name, exc, what)
        except MemoryError:  # no room for the details
            self.unnoted += 1
            self.reserve = None  # room for the rest of this failure's handling

    def reset(self, why, *a):
        """Reset the device, saying why: why is a key of aiowatcher.WHY,
        worded there with a, and saved with the report and the reason. What
        the heap has no room for is skipped, never the reset: the key and a
        are the reason when aiowatcher cannot load."""
        status = safemode.EXIT_WATCHDOG if why == "watchdog" else safemode.EXIT_RESET
        line = why
        try:
            line = "%s %s" % (why, a)  # first, while the reserve let go has room for it
            import aiowatcher

            line = aiowatcher.WHY[why] % a
        except MemoryError:
            pass
        print("[ ERROR ] watcher", "resetting", line, sep=": ")  # allocates nothing
        safemode.note(line)  # the reason first: the report may take the last of the heap
        try:
            import aiowatcher

            aiowatcher.save(self, line)  # the journal's line and the report file
        except Exception:  # no room to load it or to write: the reset goes on
            pass
        safemode.reset(status)

    # -- one round: every service once; on a tick (lag not None: every
    # period) also the running ones, and the watchdog

    def sweep(self, now, lag):
        t = aioctl.group()
        for name, svc in aioservice.registry.items():
            if svc is self or not svc.loaded:
                continue
            tr = self.tracks.get(name)
            if tr is None:
                task = name + ".service"
                for key in t.recs:  # the table's own string: not one more copy per service
                    if key == task:
                        task = key
                        break
                tr = self.tracks[name] = [task, None, 0, 0, (), 0, 0, 0, 0]
            task = tr[_TASK]
            if lag is not None:  # wrap-safe windows (see _AGE)
                tr[_WINDOW] = clamp(tr[_WINDOW], _AGE)
                tr[_SINCE] = clamp(tr[_SINCE], _AGE)
            rec = t.recs.get(task)
            if rec is None:
                continue
            end, run = rec[aioctl.END], rec[aioctl.SINCE]
            if run != tr[_RUN]:  # a new run, restarted by us or started by a user
                tr[_RUN], tr[_SINCE], tr[_HUNG] = run, now, 0
                if svc.limit_hit:  # by a user: restarts are allowed again
                    svc.limit_hit = False
                    tr[_STARTS] = tr[_FAILS] = 0
            hung = setting(svc, "watchdog") * 1000
            if end is None:  # running; on a tick: a healthy run, a hang
                if lag is None:
                    continue
                if rec[aioctl.TASK].done():  # it ended on a heap too full to record it:
                    aioctl._done(rec[aioctl.TASK], rec[aioctl.TASK].data)  # recorded now
                    continue
                since = tr[_SINCE]
                if tr[_FAILS] and ticks_diff(now, since) > setting(svc, "restart_window") * 1000:  # pyright: ignore[reportOperatorIssue]
                    tr[_FAILS] = 0  # healthy for a while: the backoff starts again
                last = svc.checked_in  # (one of an earlier run counts as none)
                if last is None or ticks_diff(last, since) < 0:
                    last = since
                quiet = ticks_diff(now, last)
                if hung and quiet > hung:  # pyright: ignore[reportOperatorIssue]
                    self.problems.append(name + " hung")
                    if not tr[_HUNG]:
                        tr[_HUNG] = 1
                        self.note(name, None, quiet)  # said (and logged) by aiowatcher
                        aioctl.stop(task)
                continue
            if type(end) is not tuple or end[1] == "scheduled":
                continue
            seen = tr[_SEEN]
            if end is not seen:  # an end not handled yet...
                if seen and seen[0] == end[0] and end[1] == "stopped":  # ...or the same,
                    # held by a user's stop (aiotools.hold):
                    tr[_HUNG] = 0  # it stays down as asked, not taken as failed
                else:  # (its restart not planned for a full heap: the next round's)
                    self.ended(name, svc, tr, end, now)
                tr[_SEEN] = end
            due = t.planned.get(task)
            if due is not None:
                wait = ticks_diff(due, now)
                if wait > 0:  # not due yet: an alarm wakes the round then, not the next tick
                    if self.alarm is None or ticks_diff(due, self.alarm) < 0:
                        self.alarm = due
                        asyncio.create_task(self.tick(wait, True))
                elif aioservice.stopping:  # shutting down: nothing comes back
                    t.planned.pop(task, None)
                else:  # a restart, within the start limit
                    window = setting(svc, "restart_window")
                    if ticks_diff(now, tr[_WINDOW]) > window * 1000:  # pyright: ignore[reportOperatorIssue]
                        tr[_WINDOW], tr[_STARTS] = now, 0  # a new window
                    if tr[_STARTS] < setting(svc, "max_restarts"):
                        aiojob.rerun(task)  # ends the plan; on a full heap it stays: next round
                        tr[_STARTS] += 1
                        self.restarts += 1
                        if self.log:
                            self.log.info("%s: restart %d" % (name, tr[_STARTS]))
                    else:
                        t.planned.pop(task, None)
                        svc.limit_hit = True
                        self.problems.append(name + " start-limit-hit")
                        if self.log:
                            import aiowatcher

                            aiowatcher.limit_hit(self, name, tr[_STARTS], window)
            if lag is not None and hung and (due is not None or svc.limit_hit
                                             or end[1] == "ERROR" or tr[_HUNG]):
                self.problems.append(name + " down")  # a watched service that failed

    def ended(self, name, svc, tr, end, now):
        state = end[1]
        failed = state == "ERROR" or (state == "stopped" and tr[_HUNG])
        how = setting(svc, "restart")
        if (failed and how != "no") or (state == "done" and how == "always"):
            # planned first: on a full heap this is what fails (a float, the
            # table growing), before anything is counted, and the end is not
            # marked seen (sweep): the next round plans it
            delay = min(setting(svc, "restart_delay") * 2 ** tr[_FAILS],
                        setting(svc, "restart_delay_max"))
            if setting(svc, "watchdog"):  # a watched service down starves the watchdog:
                delay = min(delay, self.wdt_ms / 2000)  # its wait must not reset the device
            # the plan sits in the task table: a user's aioctl.stop() cancels it
            aioctl.group().planned[tr[_TASK]] = ticks_add(now, int(delay * 1000))
            # a failure doubles the next delay (a clean end, restart=always, does not);
            # 2 ** 16 times any delay is past any maximum: a larger exponent made a
            # bignum that grew with every failure
            if failed and tr[_FAILS] < 16:
                tr[_FAILS] += 1
        if state == "ERROR":
            self.note(name, end[2])
        elif state == "stopped" and isinstance(end[3], Exception):  # on_stop raised
            self.note(name, end[3], True)
        if failed:
            tr[_ERRORS] += 1
            try:  # its child tasks go with it: its next run adds its own
                while True:
                    kid = aiojob.child(aioctl.group().recs, tr[_TASK])
                    if kid is None:
                        break
                    aioctl.stop(kid)  # its record is no longer running at once
            except MemoryError:  # a full heap: the restart below matters more
                aioctl.unimport(("aiotasks", "aiolazy"))  # what a failed import holds
            if self.max_errors and self.total_errors >= self.max_errors:
                self.reset("max_errors", self.total_errors)
            if self.err_service_limit and tr[_ERRORS] >= self.err_service_limit:
                self.reset("err_service_limit", name, tr[_ERRORS])

    def guard(self, now, lag):
        """Feed the watchdog only when nothing is wrong; bite when starving."""
        if not self.wdt:  # the unix port: the thread that plays the watchdog (once), if it fits
            try:
                import aiowatchdog

                aiowatchdog.watch_loop(self)
            except MemoryError:
                pass
        if lag > self.max_lag:
            self.problems.append("event loop blocked for %d ms" % lag)
        if self.reserve is None and mem_free() > 4 * _RESERVE:  # room again: take it back
            try:
                self.reserve = bytearray(_RESERVE)
            except MemoryError:
                pass
        if ticks_diff(now, self.noted) > self.quiet:  # no error for a while: its RAM back
            sys.modules.pop("aiowatcher", None)
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
        if not self.wdt and late > self.wdt_ms and not safemode.pending:  # (pending: the
            self.reset("watchdog", late, said)  # unix watchdog thread bit: its reset is under way)

    @aioctl.aiotask
    async def task(self, period=0.5, wdt_timeout=10, max_lag=2, healthy_after=60,
                   max_errors=0, err_service_limit=0, report_file=None, log=None,
                   loglevel="INFO"):
        self.add_logger(log, level=loglevel)
        self.max_errors, self.err_service_limit = max_errors, err_service_limit
        self.report_file = report_file
        self.max_lag, self.healthy_after = max_lag * 1000, healthy_after * 1000
        self.wdt_ms = int(wdt_timeout * 1000)
        period = int(period * 1000)
        # without an error for this long (20 rounds, 2 s at least), aiowatcher goes;
        # sooner, a service failing in a loop on a full heap would load it again and again
        self.quiet = max(20 * period, 2000)
        self.fed = self.beat = ticks_ms()  # the last feed; the last tick (aiowatchdog reads it)
        # the counters a failure sets, in the instance's table now: set first
        # on a full heap, a new entry there would be the watcher's own MemoryError
        self.restarts = self.total_errors = self.unnoted = self.noted = 0
        self.reserve = bytearray(_RESERVE)
        self.problems = []  # why the system is not healthy now (reused every round)
        # lag: set by tick(), how late the loop ran; None until the next tick.
        # alarm: ticks_ms the next restart alarm is set for. wdt: None on the
        # unix port, where guard() and a thread play the watchdog.
        self.lag = self.alarm = self.wdt = None
        try:
            from machine import WDT

            self.wdt = WDT(timeout=self.wdt_ms)
        except ImportError:
            pass
        ticker = asyncio.create_task(self.tick(period))
        bad = False
        try:
            while True:  # a round at once, then one each time something happens
                lag, self.lag = self.lag, None
                if lag is not None:
                    self.problems.clear()
                try:
                    now = ticks_ms()
                    self.sweep(now, lag)
                    if lag is not None:
                        self.guard(now, lag)
                    bad = False
                except Exception as e:  # the supervisor outlives a bad round (a reset ends it)
                    self.reserve = None  # a full heap, most likely: room for the next round
                    self.note(self.name, e)
                    if not bad:  # once, not every round while the heap is full
                        bad = True
                        try:
                            print("[ ERROR ] watcher", type(e).__name__, e, sep=": ")
                        except MemoryError:
                            pass
                try:  # woken by any task's end, by a due restart and by the tick
                    await aiojob.ended()
                except MemoryError:  # no room for a waiter: look again in a period
                    await asyncio.sleep_ms(period)
        except asyncio.CancelledError:
            # Supervision must not end silently: a stop, delete or unload of
            # the watcher (but a restart, or the shutdown) resets the device.
            rec = aioctl.group().recs.get(self.name + ".service")
            if not (aioservice.stopping or rec and (
                    rec[aioctl.END] == aioctl.RESTART or  # restarting
                    rec[aioctl.TASK] is not asyncio.current_task())):  # replaced by a new run
                self.reset("stopped")
            raise
        finally:
            ticker.cancel()

    async def tick(self, ms, alarm=False):
        # Wakes the round every ms: a tick, in which it also checks hangs
        # and feeds the watchdog (how late this sleep wakes is the loop's
        # lag). An alarm wakes it once, when a planned restart is due.
        last = ticks_ms()
        while True:
            await asyncio.sleep_ms(ms)
            now = ticks_ms()
            if alarm:
                self.alarm = None
            else:
                self.beat = now
                self.lag = ticks_diff(now, last) - ms
                last = now
            ev = aioctl.group().changed
            if ev:
                ev.set()
                ev.clear()
            if alarm:
                return


def setting(svc, key):
    """A restart policy setting of svc: its own (services.config), else
    POLICY's; restart is "no" for core and schedule services. A number for
    every key but restart (which pyright cannot tell: hence its ignores)."""
    if key in svc.policy:
        return svc.policy[key]
    if key == "restart" and not svc.type.startswith("runtime"):
        return "no"  # core services run once; schedules run by their plan
    return POLICY[key]


service = WatcherService("watcher")
