# aiogrep: the grep of mpsysd's logs, shared by the journal and aioctl's
# views: patterns with * wildcards that match anywhere in a line.
from aioctl import match


def patterns(grep):
    """grep (a pattern or a list of them; * wildcards) as patterns that match
    anywhere in a line; [] matches every line."""
    if isinstance(grep, str):
        grep = [grep]
    return ["*%s*" % p for p in grep if p]


def wanted(line, pats):
    return not pats or any(match(p, line) for p in pats)
