# aiogrep: `*` wildcards for task names (aioctl loads it for a pattern
# with a wildcard) and the grep of mpsysd's logs, shared by the journal and
# aioctl's views: patterns that match anywhere in a line.


def match(pattern, name):
    """True when name fits pattern, where * stands for any run of characters."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == name
    head, tail = parts[0], parts[-1]
    pos, end = len(head), len(name) - len(tail)
    if end < pos or not name.startswith(head) or not name.endswith(tail):
        return False
    for part in parts[1:-1]:
        pos = name.find(part, pos, end)
        if pos < 0:
            return False
        pos += len(part)
    return True


def patterns(grep):
    """grep (a pattern or a list of them; * wildcards) as patterns that match
    anywhere in a line; [] matches every line."""
    if isinstance(grep, str):
        grep = [grep]
    if type(grep) is not list or not all(isinstance(p, str) for p in grep):
        raise TypeError("grep for text (a string, or a list of them): not %r" % (grep,))
    return ["*%s*" % p for p in grep if p]


def wanted(line, pats):
    return not pats or any(match(p, line) for p in pats)


def pick(recs, pattern, children):
    """aioctl.select()'s slower path: the names of recs that pattern picks
    (with children, a service's child tasks too), sorted; when none, one
    line says so."""
    import aiolazy

    aiolazy.named(pattern)
    found = []
    for n in recs:
        if match(pattern, n):
            found.append(n)
    if children:  # name.service.child follows name.service
        for n in recs:
            i = n.find(".service.")
            if i > 0 and n[: i + 8] in found and n not in found:
                found.append(n)
    if not found:
        import aiotools

        aiotools.nothing(pattern)
    found.sort()
    return found
