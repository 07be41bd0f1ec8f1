"""services.config, .env and atomic writes against what the field meets:
JSON that MicroPython's json would take silently, bytes that are not UTF-8,
files too large for a board's heap, and power cuts in the middle of a write
on a filesystem (FAT) that cannot rename over a file."""
import json
import os

import pytest

from conftest import service_file

ECHO = service_file("echo", params=", *args", attrs="self.kwargs = {'greeting': 'default'}",
                    body="return (args, greeting)").replace(
    "async def task(self, *args, log=None)", "async def task(self, *args, greeting='?', log=None)")
OTHER = service_file("other", body="return 'other ok'")
NET = service_file("net", kind="core.service", body="return 'net up'")
def refuse(constant):
    raise ValueError(constant)  # NaN, Infinity: not JSON


DEFAULTS = "services run with their defaults; the file is left as it is"
ON_DEFAULTS = ["echo ((), 'default')", "other other ok"]


def write_bytes(mp, name, data):
    with open(os.path.join(mp.workdir, name), "wb") as f:
        f.write(data)


def boot(mp, config=None, env=None, heap="128K", extra=""):
    """Lay out echo, other (runtime) and net (core), write config and env
    (bytes or text), then boot() and init() as main.py does. 128 KB on this
    64-bit port holds what 64 KB holds on a 32-bit board."""
    mp.services({"echo": ECHO, "other": OTHER, "net": NET})
    for name, data in (("services.config", config), (".env", env)):
        if isinstance(data, dict):
            data = json.dumps(data)
        if data is not None:
            write_bytes(mp, name, data if isinstance(data, bytes) else data.encode())
    return mp.run_async("""
        await aioservice.boot(debug=False)
        aioservice.init(debug=False)
        await asyncio.sleep_ms(10)
        for n in ("net", "echo", "other"):
            t = n + ".service"
            print(n, aioctl.result(t) if t in aioctl.group().tasks else "not started")
    """ + extra, heap=heap, compiled=True)


def config_problem(mp, text, line):
    """text as services.config: one [ ERROR ] line, services on their
    defaults, the file untouched."""
    r = boot(mp, text)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] " + line, "net net up"] + ON_DEFAULTS, r
    with open(os.path.join(mp.workdir, "services.config"), "rb") as f:
        assert f.read() == (text if isinstance(text, bytes) else text.encode())



def test_a_broken_config_is_said_at_each_load_and_in_status_until_fixed(mp):
    # (trial) the first load said it; the next loads fell back to the
    # defaults without a word, and aioservice.status() showed all [ OK ]
    broken = b'{"echo": {"args": [1]},\n}'
    r = boot(mp, broken, extra="""
        for n in ("echo", "echo"):
            aioservice.load(n)
        aioservice.status()
        with open("services.config", "w") as f:
            f.write('{"echo": {"args": [1]}}')
        print("fixed")
        aioservice.load("echo")
        aioservice.status()
    """)
    assert r.rc == 0, r
    said = "[ ERROR ] services.config: line 2, col 1: a comma before '}': not valid JSON; " \
        + DEFAULTS
    fixed = r.lines.index("fixed")
    assert r.lines[:fixed].count(said) == 4, r.out  # boot and init (one read), two loads, status()
    assert said not in r.lines[fixed:], r.out


# 1. strict JSON: what CPython's json refuses is refused, with line and column

STRICT = [
    ("trailing_comma_object", '{"echo": {"args": [1],\n          "kwargs": {"greeting": "hi",}}}',
     "line 2, col 39: a comma before '}'"),
    ("trailing_comma_list", '{"echo": {"args": [1, 2,]}}', "line 1, col 25: a comma before ']'"),
    ("missing_comma", '{"echo": {"args": [1]}\n "other": {}}',
     "line 2, col 2: expected ',' or '}'"),
    ("missing_comma_in_list", '{"echo": {"args": [1 2]}}', "line 1, col 22: expected ',' or ']'"),
    ("missing_closing_brace", '{"echo": {"args": [1, 2]}',
     "line 1, col 26: no closing '}'"),
    ("missing_value", '{"echo": {"enabled": true, "args": }}', "line 1, col 36: expected a value"),
    ("single_quotes", "{'echo': {}}",
     "line 1, col 2: expected a key in double quotes, not ' (JSON takes double quotes)"),
    ("single_quoted_value", '{"echo": {"kwargs": {"greeting": \'hi\'}}}',
     "line 1, col 34: expected a value, not ' (JSON takes double quotes)"),
    ("unquoted_key", '{"echo": {args: [1]}}', "line 1, col 11: expected a key in double quotes"),
    ("line_comment", '{"echo": {} // the echo\n}',
     "line 1, col 13: expected ',' or '}'; JSON has no comments"),
    ("block_comment", '/* services */\n{"echo": {}}',
     "line 1, col 1: expected a value; JSON has no comments"),
    ("nan", '{"echo": {"args": [NaN]}}', "line 1, col 20: expected a value"),
    ("infinity", '{"echo": {"args": [-Infinity]}}', "line 1, col 20: not a number"),
    ("garbage_after_the_value", '{"echo": {}} x', "line 1, col 14: more after the end of the "
                                                 "JSON value"),
    ("second_object", '{"echo": {}}\n{"other": {}}', "line 2, col 1: more after the end of "
                                                    "the JSON value"),
    ("leading_zero", '{"echo": {"args": [007]}}', "line 1, col 20: not a number"),
    ("bad_escape", '{"echo": {"args": ["C:\\data"]}}',
     "line 1, col 23: not an escape (\\\\ for a backslash)"),
    ("raw_tab_in_string", '{"echo": {"args": ["a\tb"]}}',
     "line 1, col 22: a control character in a string (write \\n, \\t)"),
    ("unclosed_string", '{"echo": {"args": ["abc]}}',
     "line 1, col 27: a string with no closing '\"' (the file ends)"),
    ("empty_file", "", "line 1, col 1: the file ends too soon"),
    ("byte_order_mark", '\ufeff{"echo": {}}',
     "line 1, col 1: expected a value, not byte 0xef"),
]


@pytest.mark.parametrize("text, where", [c[1:] for c in STRICT], ids=[c[0] for c in STRICT])
def test_strict_json_refuses_what_cpython_refuses(mp, text, where):
    with pytest.raises(ValueError):  # CPython's json refuses it too
        json.loads(text, parse_constant=refuse)
    config_problem(mp, text, "services.config: %s: not valid JSON; %s" % (where, DEFAULTS))


def test_checker_agrees_with_cpython(mp):
    # Each case on the checker alone: accepted exactly when CPython's json
    # accepts it (NaN and Infinity refused), and then parsed as before.
    cases = ['{}', '[]', ' {"a": [1, -0, 2.5e-3, 1E+9, true, false, null, "x"]} ', '"\\u00e9\\/"',
             '{"a": {"b": {"c": []}}}', '{"a":1,}', '[1,]', '{"a" 1}', '{"a":1', '[1', '[1}',
             '{"a":}', '{,}', '[,1]', '[1,,2]', '{"a"::1}', '01', '1.', '.5', '-', '1e', '1e+',
             '0x1', '+1', 'tru', 'nul', 'True', '"\\u12"', '"\\a"', '"caf\u00e9 \U0001F600"',
             '{"a":1}{}', '"', '[', ']', 'NaN', '"\x7f"', '"\x1f"', '1 2', '{"a":1,"a":2}']

    def cpython(text):
        try:
            json.loads(text, parse_constant=refuse)
            return 1
        except ValueError:
            return 0

    mp.write("cases.json", json.dumps([c.encode().hex() for c in cases]))
    r = mp.run("""
        import json, jsoncheck
        from binascii import unhexlify
        for c in json.load(open("cases.json")):
            data = unhexlify(c)
            try:
                jsoncheck.check(data, 8, 100)
                print(1, json.loads(data) == json.loads(data.decode()))
            except ValueError:
                print(0)
    """)
    assert r.rc == 0, r
    assert r.lines == [("1 True" if cpython(c) else "0") for c in cases], r


def test_a_valid_config_still_reads_as_before(mp):
    config = ('{\n  "echo": {"args": [1, -2.5e1, true, null, "caf\u00e9 \\u00e9 \\"q\\""],\n'
              '           "kwargs": {"greeting": "hi"}}\n}\n')
    r = boot(mp, config)
    assert r.rc == 0, r
    assert r.lines == ["net net up", "echo ((1, -25.0, True, None, 'caf\\xe9 \\xe9 \"q\"'), "
                       "'hi')", "other other ok"]


# 2. restart policy keys under "kwargs" go to the policy, never to the task

def test_policy_keys_under_kwargs_go_to_the_policy(mp):
    policy = {"restart": "always", "restart_delay": 2, "restart_delay_max": 8,
              "max_restarts": 3, "restart_window": 30, "watchdog": 5}
    r = boot(mp, {"echo": {"kwargs": dict(policy, greeting="hi")},
                  "other": {"restart_delay": 1, "kwargs": {"restart_delay": 9}}}, extra="""
        print(sorted(aioservice.service("echo").policy.items()))
        print(aioservice.service("other").policy)
    """)
    assert r.rc == 0, r
    assert r.lines == ["net net up", "echo ((), 'hi')", "other other ok",
                       str(sorted(policy.items())), "{'restart_delay': 1}"]  # the entry's own wins


def test_policy_keys_under_kwargs_are_checked(mp):
    r = boot(mp, {"echo": {"kwargs": {"restart": "sometimes"}}})
    assert r.rc == 0, r
    assert r.lines == ['[ ERROR ] services.config: echo: "restart" must be one of on-failure, '
                       'always, no', "net net up", "echo not started", "other other ok"]


# 3. bytes that are not UTF-8: one line, the boot goes on

def test_config_byte_that_is_not_utf8_in_a_string(mp):
    config_problem(mp, b'{"echo": {"kwargs": {"greeting": "caf\xe9"}}}',
                   "services.config: line 1, col 38: byte 0xe9 is not UTF-8: not valid JSON; "
                   + DEFAULTS)


def test_config_byte_that_is_not_utf8_outside_a_string(mp):
    config_problem(mp, b'{"echo": {}}\n\xff',
                   "services.config: line 2, col 1: more after the end of the JSON value: "
                   "not valid JSON; " + DEFAULTS)


def test_env_line_that_is_not_utf8_is_named_and_skipped(mp):
    r = boot(mp, {"echo": {"args": ["${A}", "${C}"]}},
             env=b"A=ok\nB=caf\xe9 and more\nC=\xc3\xa9t\xc3\xa9\n")
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] .env: line 2, col 6: byte 0xe9 is not UTF-8, skipped",
                       "net net up", "echo (('ok', '\\xe9t\\xe9'), 'default')", "other other ok"]


def test_safemode_count_that_is_not_utf8_means_zero(mp):
    for junk in (b"\xff\xfe\x00", b"-4", b"9" * 100):
        write_bytes(mp, "safemode.count", junk)
        r = mp.run("import safemode\nprint(safemode.begin(3), safemode.boots)\n"
                   "print(open('safemode.count').read())")
        assert r.lines == ["False 1", "1"], (junk, r)


# 4. limits: what a 62 KB heap cannot parse is refused before it is, in one line

def test_oversized_config_is_refused_unread(mp):
    big = '{"echo": {"args": ["%s"]}}' % ("x" * 200000)
    config_problem(mp, big, "services.config: %d bytes, over the limit of 4096 "
                   "(aioconfig.MAX_BYTES): %s" % (len(big), DEFAULTS))


def test_thousand_kwargs_and_a_100k_value_are_refused(mp):
    many = json.dumps({"echo": {"kwargs": {"k%d" % i: i for i in range(1000)}}})
    value = json.dumps({"echo": {"kwargs": {"greeting": "v" * 100000}}})
    for text in (many, value):
        config_problem(mp, text, "services.config: %d bytes, over the limit of 4096 "
                       "(aioconfig.MAX_BYTES): %s" % (len(text), DEFAULTS))


def test_deep_nesting_is_refused(mp):
    deep = '{"echo": {"args": %s%s}}' % ("[" * 5000, "]" * 5000)  # over 2 KB: refused unread
    config_problem(mp, deep, "services.config: %d bytes, over the limit of 4096 "
                   "(aioconfig.MAX_BYTES): %s" % (len(deep), DEFAULTS))
    deep = '{"echo": {"args": %s' % ("[" * 3000)  # under 4 KB: refused at level 9
    config_problem(mp, deep, "services.config: line 1, col 25: nested more than 8 deep: over "
                   "the limit (aioconfig.MAX_DEPTH, MAX_VALUES); " + DEFAULTS)


def test_too_many_values_are_refused(mp):
    text = '{"echo": {"args": [%s]}}' % ",".join("0" * 1500)
    config_problem(mp, text, "services.config: line 1, col 526: more than 256 values: over "
                   "the limit (aioconfig.MAX_DEPTH, MAX_VALUES); " + DEFAULTS)


def test_config_at_the_limits_boots_at_64k(mp):
    # 4 KB and 256 values, most of them small objects: parsed and run
    pad = [{"k%d" % i: "v" * 12} for i in range(124)]
    text = json.dumps({"echo": {"kwargs": {"greeting": "hi"}}, "unused": {"args": pad}})
    assert len(text) < 4096
    text += " " * (4096 - len(text))
    assert len(text) == 4096
    r = boot(mp, text)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] services.config: unused: no file unused_service.py in "
                       "aioservices/services (a misspelt name?)",
                       "net net up", "echo ((), 'hi')", "other other ok"]


@pytest.mark.parametrize("env", [
    "".join("KEY%d=value%d\n" % (i, i) for i in range(10000)),  # 10,000 lines
    "BIG=%s\n" % ("v" * 100000),  # a 100 KB value
], ids=["10000_lines", "100k_value"])
def test_oversized_env_is_refused_unread(mp, env):
    r = boot(mp, {"echo": {"kwargs": {"greeting": "${BIG}"}}, "other": {"args": []}}, env=env)
    assert r.rc == 0, r
    assert r.lines == [
        "[ ERROR ] .env: %d bytes, over the limit of 2048 (aioconfig.ENV_MAX_BYTES): not read"
        % len(env), "[ ERROR ] services.config: echo: ${BIG} is not set in .env",
        "net net up", "echo not started", "other other ok"]


def test_env_variables_past_the_limit_are_skipped(mp):
    env = "".join("V%d=%d\n" % (i, i) for i in range(40))
    r = boot(mp, {"echo": {"args": ["${V31}"]}}, env=env)
    assert r.rc == 0, r
    assert r.lines == ["[ ERROR ] .env: line 33: more than 32 variables "
                       "(aioconfig.ENV_MAX_VARS): the rest skipped",
                       "net net up", "echo (('31',), 'default')", "other other ok"]


# 5. atomic writes that survive a cut at any step, on FAT too

CUT_SCRIPT = """
import os as real_os
import sys


class Cut(Exception):
    pass


class Disk:
    # os as atomicfile uses it; counts the steps that change the disk and
    # raises Cut at step `cut`. fat: rename never goes over a file, as on FAT.
    def __init__(self, fat):
        self.fat, self.step, self.cut = fat, 0, 0

    def tick(self):
        self.step += 1
        if self.step == self.cut:
            raise Cut()

    def stat(self, p):
        return real_os.stat(p)

    def remove(self, p):
        self.tick()
        real_os.remove(p)

    def rename(self, a, b):
        self.tick()
        if self.fat and b in real_os.listdir("."):
            raise OSError(17)  # EEXIST
        real_os.rename(a, b)


disk = sys.modules["os"] = Disk(%(fat)s)
import atomicfile  # noqa: E402


class HalfFile:
    # a file whose write stops halfway at a cut
    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()

    def write(self, text):
        self.f.write(text[:len(text) // 2])
        disk.tick()
        self.f.write(text[len(text) // 2:])


def cut_open(path, mode="r"):
    return HalfFile(open(path, mode)) if "w" in mode else open(path, mode)


atomicfile.open = cut_open


def attempt(fn, *args, cut=0):
    disk.step, disk.cut = 0, cut
    try:
        fn(*args)
        return True
    except Cut:
        return False
    finally:
        disk.cut = 0


def files():
    return sorted(real_os.listdir("."))


for k in range(1, 10):
    for j in range(0, 5):  # then a cut in the read that recovers (0: none)
        for f in files():
            if f.startswith("cfg"):
                real_os.remove(f)
        atomicfile.write("cfg", "old version")
        done = attempt(atomicfile.write, "cfg", "new version", cut=k)
        left = [f for f in files() if f.startswith("cfg")]
        attempt(atomicfile.read, "cfg", cut=j)
        got = atomicfile.read("cfg").decode()
        settled = [f for f in files() if f.startswith("cfg")]
        atomicfile.write("cfg", "third")
        after = [f for f in files() if f.startswith("cfg")]
        if j == 0:
            print(k, done, left, got, settled, after, atomicfile.read("cfg"))
        else:
            print(k, j, got)
"""


@pytest.mark.parametrize("fat", [True, False], ids=["fat", "posix"])
def test_a_cut_at_every_step_leaves_the_newest_complete_version(mp, fat):
    r = mp.run(CUT_SCRIPT % {"fat": fat})
    assert r.rc == 0, r
    # the steps of a write: settle's removal of cfg.tmp, writing cfg.tmp
    # (halfway), the commit (cfg.tmp -> cfg.new), then cfg.new over cfg:
    # on FAT a refused rename, remove cfg, rename.
    steps = 6 if fat else 4
    commit = 3
    runs = [line.split(" ", 1) for line in r.lines if line.count(" ") > 3]
    assert len(runs) == 9
    for k, line in runs:
        k = int(k)
        done = k > steps
        newest = "new version" if k > commit else "old version"
        left = {1: "['cfg']", 2: "['cfg', 'cfg.tmp']", 3: "['cfg', 'cfg.tmp']"}.get(
            k, "['cfg', 'cfg.new']" if k < steps else "['cfg.new']" if k == steps else "['cfg']")
        if not fat and k == steps:  # one rename over cfg: done before anything is left
            left = "['cfg', 'cfg.new']"
        assert line == "%s %s %s ['cfg'] ['cfg'] b'third'" % (done, left, newest), (k, r.out)
    # a cut while read() recovers: the next read still finds the newest
    for line in r.lines:
        if line.count(" ") == 3:
            k, _j, got = line.split(" ", 2)
            assert got == ("new version" if int(k) > commit else "old version"), line


def test_boot_finishes_a_cut_write_of_services_config(mp):
    # a cut after the commit left the old file, the complete new one and a
    # torn temp file from the write before: the new config wins, nothing is left
    mp.services({"echo": ECHO, "other": OTHER, "net": NET})
    mp.write("services.config", json.dumps({"echo": {"kwargs": {"greeting": "old"}}}))
    mp.write("services.config.new", json.dumps({"echo": {"kwargs": {"greeting": "new"}}}))
    mp.write("services.config.tmp", '{"echo": {"kwa')
    r = boot(mp, extra="""
        import os
        print(sorted(f for f in os.listdir(".") if "config" in f))
    """)
    assert r.rc == 0, r
    assert r.lines == ["net net up", "echo ((), 'new')", "other other ok", "['services.config']"]


def test_safemode_count_survives_a_cut_write(mp):
    mp.write("safemode.count", "1")
    mp.write("safemode.count.new", "2")
    r = mp.run("import os, safemode\nprint(safemode.begin(3), safemode.boots)\n"
               "print(sorted(f for f in os.listdir('.') if 'safemode' in f))")
    assert r.lines == ["False 3", "['safemode.count']"], r
