# watcher: mpsysd's supervisor, bundled and enabled by default. It restarts
# services that fail, per each one's restart policy (backoff, start limit);
# takes a service that stops checking in as hung; keeps a bounded report of
# errors; resets the device when errors pass a limit; and feeds the
# watchdog only while every watched service is healthy and the loop runs.
import asyncio
import time

import aioctl
import aioservice
import safemode
from aioclass import Service

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
TRACEBACK_CHARS = 600  # of the last traceback kept per exception type


def _date(t):
    return "%d-%02d-%02d %02d:%02d:%02d" % time.localtime(t)[:6]


class Text:
    """Text that the prompt shows as lines, not as a quoted string."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text

    __str__ = __repr__


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
        self.hung = False


class WatcherService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Restarts failed services; feeds the watchdog while all is healthy"
        self.type = "runtime.service"
        self.docs = "README.md#resilience"
        self.tracks = {}  # service name -> Track
        self.errors = {}  # service name -> {exception type: [count, first, last, traceback]}
        self.total_errors = 0
        self.restarts = 0
        self.wdt = None  # machine.WDT on a board; None on the unix port, where...
        self.fed = 0  # ...the watcher bites itself when not fed for wdt_ms (ticks_ms)
        self.wdt_ms = 0
        self.healthy_since = None
        self.problems = []  # why the system is not healthy now (reused every round)
        self.said = ""  # the problems last logged, so that they are logged once
        self.report_file = None
        self.alarm = None  # ticks_ms the next restart alarm is set for

    def policy_of(self, svc):
        p = dict(POLICY, **svc.policy)
        if svc.type != "runtime.service" and "restart" not in svc.policy:
            p["restart"] = "no"  # core services run once; schedules run by their plan
        return p

    # -- errors ----------------------------------------------------------

    def note_error(self, name, exc, what=None):
        """Count an error of a service, by exception type, with its traceback."""
        kinds = self.errors.setdefault(name, {})
        kind = what or type(exc).__name__
        if kind not in kinds and len(kinds) >= MAX_ERROR_KINDS:
            kind = "other"
        now = int(time.time())
        entry = kinds.setdefault(kind, [0, now, now, ""])
        entry[0] += 1
        entry[2] = now
        if exc is not None:
            import io
            import sys

            text = io.StringIO()
            # the board stubs miss StringIO as a print_exception target, and getvalue()
            sys.print_exception(exc, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
            entry[3] = text.getvalue()[-TRACEBACK_CHARS:]  # pyright: ignore[reportAttributeAccessIssue]
        else:
            entry[3] = what
        self.total_errors += 1

    def report(self):
        """The error report, per service and exception type: it prints as
        readable lines at the prompt; str() of it is the text."""
        lines = ["restarts: %d; errors: %d" % (self.restarts, self.total_errors)]
        for name in sorted(self.errors):
            for kind, (count, first, last, tb) in sorted(self.errors[name].items()):
                lines.append("%s: %s x%d, first %s, last %s" % (
                    name, kind, count, _date(first), _date(last)))
                lines.append("    " + tb.strip().replace("\n", "\n    "))
        return Text("\n".join(lines))

    def stats(self):
        return {"restarts": self.restarts, "errors": self.total_errors,
                "services": {n: {k: v[0] for k, v in kinds.items()}
                             for n, kinds in self.errors.items()},
                "start_limit_hit": sorted(n for n, s in aioservice.registry.items()
                                          if getattr(s, "limit_hit", False))}

    def show(self):
        healthy = ("healthy for %d s" % (time.ticks_diff(time.ticks_ms(), self.healthy_since)
                                         // 1000) if self.healthy_since is not None
                   else "not healthy: " + (self.said or "starting"))
        return "Watcher", "restarts: %d; errors: %d; %s" % (
            self.restarts, self.total_errors, healthy)

    def save_report(self):
        if self.report_file:
            import aioconfig

            aioconfig.write({"report": str(self.report()), "stats": self.stats()},
                            self.report_file)

    def reset(self, reason, status=safemode.EXIT_RESET):
        """Save the report, say why, and reset the device."""
        if self.log:
            self.log.error("resetting: " + reason)
        print("[ ERROR ] watcher: resetting: " + reason)
        self.save_report()
        safemode.reset(status)

    def reset_failed(self, name=None):
        """Allow restarts again after start-limit-hit (all services when None)."""
        for n, svc in aioservice.registry.items():
            if name in (None, n):
                svc.limit_hit = False
                track = self.tracks.get(n)
                if track:
                    track.starts, track.fails = 0, 0

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
                track = self.tracks[name] = Track(name, self.policy_of(svc))
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
                    wait = time.ticks_diff(due, now)
                    if wait <= 0:
                        self.restart(name, svc, track, now)
                    elif self.alarm is None or time.ticks_diff(due, self.alarm) < 0:
                        self.alarm = due  # wake then, not at the next tick
                        asyncio.create_task(self.wake_in(wait))
                if tick and track.policy["watchdog"] and (due is not None or svc.limit_hit
                                                          or end[1] == "ERROR"):
                    self.problems.append(name + " down")  # a watched service that failed

    def running(self, name, svc, track, run, now):
        p = track.policy
        if run != track.run:  # a new run (restarted by us or by a user)
            track.run, track.run_since = run, now
            if getattr(svc, "limit_hit", False):  # a user started it again
                self.reset_failed(name)
        up = time.ticks_diff(now, track.run_since)
        if track.fails and up > p["restart_window"] * 1000:
            track.fails = 0  # healthy for a while: the backoff starts again
        if p["watchdog"]:
            last = svc.checked_in
            if last is None or time.ticks_diff(last, track.run_since) < 0:
                last = track.run_since
            quiet = time.ticks_diff(now, last)
            if quiet > p["watchdog"] * 1000:
                what = "hung: no check-in for %d ms" % quiet
                self.problems.append("%s %s" % (name, what))
                if not track.hung:
                    track.hung = True
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
        if state == "ERROR":
            self.note_error(name, end[2])
            count = sum(v[0] for v in self.errors[name].values())
            if self.max_errors and self.total_errors >= self.max_errors:
                self.reset("%d errors in all (max_errors)" % self.total_errors)
            if self.service_limit and count >= self.service_limit:
                self.reset("%s failed %d times (err_service_limit)" % (name, count))
        if (failed and p["restart"] != "no") or (state == "done" and p["restart"] == "always"):
            delay = min(p["restart_delay"] * 2 ** track.fails, p["restart_delay_max"])
            track.fails += 1
            # the plan sits in the task table: a user's aioctl.stop() cancels it
            aioctl.group().planned[track.task] = time.ticks_add(now, int(delay * 1000))

    async def wake_in(self, ms):
        # An alarm for a planned restart: wakes the watcher when it is due.
        await asyncio.sleep_ms(ms)
        self.alarm = None
        self.pulse()

    def restart(self, name, svc, track, now):
        p = track.policy
        aioctl.group().planned.pop(track.task, None)
        if aioservice.stopping:  # shutting down: nothing comes back
            return
        if time.ticks_diff(now, track.window) > p["restart_window"] * 1000:
            track.window, track.starts = now, 0  # a new window
        if track.starts >= p["max_restarts"]:
            svc.limit_hit = True
            self.problems.append(name + " start-limit-hit")
            if self.log:
                self.log.error("%s: start-limit-hit: %d restarts in %s s; "
                               "aioctl.start() or reset_failed() to allow more"
                               % (name, track.starts, p["restart_window"]))
            return
        track.starts += 1
        self.restarts += 1
        if self.log:
            self.log.info("%s: restart %d" % (name, track.starts))
        aioctl.start(track.task)
        track.ours = aioctl.group().recs[track.task][aioctl.SINCE]

    def guard(self, now, lag, max_lag_ms, healthy_after_ms):
        """Feed the watchdog only when nothing is wrong; bite when starving."""
        if lag > max_lag_ms:
            self.problems.append("event loop blocked for %d ms" % lag)
        if not self.problems:
            self.fed = now
            if self.wdt:
                self.wdt.feed()
            if self.healthy_since is None:
                self.healthy_since = now
            elif time.ticks_diff(now, self.healthy_since) >= healthy_after_ms:
                safemode.healthy()
            self.said = ""
            return
        self.healthy_since = None
        said = "; ".join(self.problems)
        if said != self.said and self.log:
            self.log.warning("not feeding the watchdog: " + said)
        self.said = said
        if self.wdt is None and time.ticks_diff(now, self.fed) > self.wdt_ms:
            self.reset("watchdog: not fed for %d ms: %s" % (self.wdt_ms, said),
                       safemode.EXIT_WATCHDOG)

    @aioctl.aiotask
    async def task(self, period=0.5, wdt_timeout=10, max_lag=2, healthy_after=60,
                   max_errors=0, err_service_limit=0, report_file=None, log=None,
                   loglevel="INFO"):
        self.add_logger(log, level=loglevel)
        self.max_errors, self.service_limit = max_errors, err_service_limit
        self.report_file = report_file
        self.wdt_ms = int(wdt_timeout * 1000)
        try:
            from machine import WDT

            self.wdt = WDT(timeout=self.wdt_ms)
        except ImportError:  # the unix port: guard() plays the watchdog
            pass
        import aiotasks

        self.period_ms = int(period * 1000)
        self.lag = 0
        self.ticked = False
        self.fed = time.ticks_ms()
        ticker = asyncio.create_task(self.tick())
        try:
            while True:  # a round at once, then one each time something happens
                now = time.ticks_ms()
                tick, self.ticked = self.ticked, False
                if tick:
                    self.problems.clear()
                try:
                    self.sweep(now, tick)
                    if tick:
                        self.guard(now, self.lag, max_lag * 1000, healthy_after * 1000)
                except Exception as e:  # the supervisor outlives a bad round (a reset ends it)
                    self.note_error(self.name, e)
                    print("[ ERROR ] watcher: %s: %s" % (type(e).__name__, e))
                # woken by any task's end, by a due restart and by the tick
                await aiotasks.ended()
        finally:
            ticker.cancel()

    def pulse(self):
        ev = aioctl.group().changed
        if ev:
            ev.set()
            ev.clear()

    async def tick(self):
        # Every period: a round that also checks hangs and feeds the watchdog.
        # How late this sleep wakes is the loop's lag.
        period_ms = self.period_ms
        last = time.ticks_ms()
        while True:
            await asyncio.sleep_ms(period_ms)
            now = time.ticks_ms()
            self.lag = time.ticks_diff(now, last) - period_ms
            last = now
            self.ticked = True
            self.pulse()


service = WatcherService("watcher")
