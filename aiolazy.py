# aiolazy: where each of aioctl's names beyond the task table lives, loaded
# by aioctl's __getattr__: the decorator, ended() and discard() in aiojob
# (which stays loaded), the control calls in aiotasks, the occasional ones
# in aiotools and the views in aiostatus, aiotop and aiocat. Each call lets go of all of
# them but aiojob once it has run, this module included: what a stop or a
# view loaded does not stay.
from aioctl import unimport


def named(pattern):
    """pattern, or a one-line error: a task is named by a string."""
    if type(pattern) is not str:
        raise TypeError("a task is named by a string, such as 'hello.service': not %r"
                        % (pattern,))
    return pattern


def lookup(attr):
    """What aioctl.attr is: aiojob's calls, then the control calls
    (aiotasks), the occasional ones (aiotools) and the views (aiostatus...),
    which give their RAM back once they have run."""
    if attr in ("aiotask", "Job", "ended", "discard"):
        return getattr(__import__("aiojob"), attr)
    from gc import collect

    collect()  # what the last call let go of is free: its code loads into whole holes
    module = _VIEWS.get(attr)
    # what a call may load: let go of after it
    parts = ("aiolazy", "aiotasks", "aiotools", "aiostatus", "aiostatusx", "aiotop", "aiocat",
             "aioview", "aiogrep", "journalx", "aiosecret")
    try:
        view = None
        if module is None:  # a control call (aiotasks), or else an occasional one
            view = getattr(__import__("aiotasks"), attr, None)
            module = "aiotools"
        if view is None:
            view = getattr(__import__(module), attr, None)
    except BaseException:  # no heap for it, most likely: what did load goes
        unimport(parts)
        raise
    if view is None:  # a typo at the prompt, most likely: say so, and load nothing
        unimport(parts)
        raise AttributeError("aioctl has no %r; help(aioctl) lists its calls" % attr)
    if attr == "follow":  # a coroutine function: it runs on
        return view
    return released(view, parts)


# Where the views live; the other occasional calls are aiotools'
_VIEWS = {"status": "aiostatus", "traceback": "aiostatusx", "top": "aiotop", "stats": "aiotop",
          "info": "aiotop", "result_all": "aiotop", "log": "aiocat", "follow": "aiocat"}


def released(func, modules):
    """func, wrapped so that modules leave sys.modules once it has run."""

    def call(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            unimport(modules)

    return call
