# aioorder: the order in which services with `require` start (and, in
# reverse, stop): a topological sort that names missing services and cycles.
# aioclass gives it as aioclass.order; only boot and shutdown load it.


def order(requires):
    """Boot order for {name: [required names]}: (names in order, problems).

    Every name comes after what it requires. problems maps each name that
    cannot start to why: a missing requirement, a cycle (with its chain), or
    a requirement that cannot start itself.
    """
    done = []
    problems = {}
    state = {}  # name -> 1 while being visited, 2 when placed

    def visit(name, chain):
        if state.get(name) == 2:
            return name not in problems
        if state.get(name) == 1:
            cycle = chain[chain.index(name):] + [name]
            for n in cycle[:-1]:
                problems[n] = "dependency cycle: " + " -> ".join(cycle)
            return False
        state[name] = 1
        ok = True
        for req in requires[name]:
            if req not in requires:
                problems.setdefault(name, "requires missing service: " + req)
                ok = False
            elif not visit(req, chain + [name]) and name not in problems:
                problems[name] = "dependency failed: " + req
                ok = False
        state[name] = 2
        done.append(name)
        return ok and name not in problems

    for name in sorted(requires):
        visit(name, [])
    return [n for n in done if n not in problems], problems
