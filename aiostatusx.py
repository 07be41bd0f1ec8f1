# aiostatusx: the rarer half of the status views, loaded from aiostatus for
# status(name, debug=True) and by aioctl.traceback(): a task's details
# (service, asyncio task, args, kwargs with secrets masked, child tasks,
# hook) and tracebacks. Let go of with the rest of the views after each call.
import sys

from micropython import const

import aioctl
from aiostatus import dot, line, summary

_ARROW = const("\u2517\u2501\u25ba")


def kwargs_text(kw):
    """kwargs for a person: plain data as it is, objects by name, secrets masked."""
    from aiosecret import is_secret

    parts = []
    data = (str, int, float, bool, type(None), list, tuple, dict)  # shown as values
    for k in sorted(kw):
        v = kw[k]
        if is_secret(k):
            text = "'****'"
        elif callable(v) or type(v) not in data:  # hooks, loggers, objects: by name
            text = "<%s>" % getattr(v, "__name__", type(v).__name__)
        else:
            text = repr(v)
        parts.append("%r: %s" % (k, text))
    return "{%s}" % ", ".join(parts)


def print_exception(exc):
    """As sys.print_exception() prints it, with the secrets masked."""
    from io import StringIO

    from aioview import masked

    text = StringIO()
    sys.print_exception(exc, text)  # pyright: ignore[reportCallIssue, reportArgumentType]
    print(masked(text.getvalue()), end="")  # pyright: ignore[reportAttributeAccessIssue]


def details(name, view, now):
    """The debug view of one task: a service's own lines, then the task's."""
    from aioview import FAILED, error_line

    svc = view.service
    main = svc is not None and name.endswith(".service")
    if main:
        info = getattr(svc, "info", "")
        if info:
            print("%s %s - %s" % (dot(view.state), name, info))
        else:  # (trial: "● name -")
            print(dot(view.state), name)
        print("    Loaded: %r" % (svc,))
        print("    Active: status: %s" % summary(view, now))
        print("    Type: %s" % getattr(svc, "type", "?"))
        if getattr(svc, "docs", ""):  # a service may have none
            print("    Docs: %s" % svc.docs)
        if hasattr(svc, "show"):
            try:
                print("    %s: %s" % svc.show())
            except Exception as e:
                print("    show() raised %s" % error_line(e))
    else:
        print(line(name, view, now))
    print("    Task: %r" % (view.task,))
    print("    %s args: %r" % (_ARROW, view.args))
    print("    %s kwargs: %s" % (_ARROW, kwargs_text(view.kwargs)))
    if main:
        prefix = name + "."
        kids = [n for n in aioctl.select() if n.startswith(prefix)]
        if kids:
            print("    %s child tasks:" % _ARROW)
            for kid in kids:
                print("        " + line(kid, aioctl.group().tasks[kid], now))
    if view.extra is not None:
        print("    %s hook: %r" % (_ARROW, view.extra))
    if view.state in FAILED:
        print_exception(view.result)


def traceback(name):
    """Print the traceback of the tasks name picks: their last failure (kept
    after a restart until the next one) and any exception a hook raised."""
    from aioview import FAILED, last_failure

    names = aioctl.select(name)
    for n in names:
        view = aioctl.group().tasks[n]
        exc = last_failure(n)
        extra = view.extra
        hook_failed = isinstance(extra, Exception)
        if len(names) > 1 and (exc or hook_failed):
            print("%s %s:" % (dot(view.state), n))
        if exc and view.state not in FAILED:
            print("%s: %s now; its last failure:" % (n, view.state))
        if exc:
            print_exception(exc)
        if hook_failed:
            print("%s: a hook raised:" % n)
            print_exception(extra)
        if len(names) == 1 and not (exc or hook_failed):
            print("%s: no traceback (%s)" % (n, view.state))
