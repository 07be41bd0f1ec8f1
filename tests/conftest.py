"""Test harness: run MicroPython code on the unix port (or a board) and look at it.

The `mp` fixture writes a script into a fresh working directory, runs it on
`.build/bin/micropython` with a microcontroller-sized heap and the project
(compiled by mpy-cross, as a board runs it) on the import path, and returns
stdout, stderr and the exit status. `mp.run(code, bits=32)` runs it on
`.build/bin/micropython32` instead, whose objects are a 32-bit board's size:
RAM tests use it (they are skipped, saying why, when it was not built).

Opt-in: `make test PYTEST_ARGS="--board /dev/ttyUSB0"` runs the same tests on
a real board through mpremote instead (tests marked unix_only are skipped).
"""
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import compile_mpy  # noqa: E402

BIN = os.path.join(os.environ.get("MPSYSD_BUILD") or os.path.join(ROOT, ".build"), "bin")
MICROPYTHON = os.path.join(BIN, "micropython")
MICROPYTHON32 = os.path.join(BIN, "micropython32")
CROSS = os.path.join(BIN, "mpy-cross")
LIB = os.path.join(ROOT, ".build", "mpy")
LOGGING = os.path.join(LIB, "tools", "logging")  # on a board these sit in /lib too
MPLIB_SRC = os.path.join(ROOT, "tests", "mplib")  # helpers for the test scripts...
MPLIB = os.path.join(ROOT, ".build", "mplib")  # ...compiled
# 128 KB on this 64-bit port holds what 64 KB holds on a 32-bit board (objects
# are twice the size): behaviour tests run there; RAM figures come from the
# 32-bit build in `make bench`.
DEFAULT_HEAP = "128K"


def pytest_addoption(parser):
    parser.addoption("--board", default=os.environ.get("MPSYSD_BOARD"),
                     help="serial port of a MicroPython board to run the tests on")


def pytest_configure(config):
    config.addinivalue_line("markers", "unix_only: needs the unix port (heap size, exit status)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--board"):
        skip = pytest.mark.skip(reason="unix port only")
        for item in items:
            if "unix_only" in item.keywords:
                item.add_marker(skip)


class Result:
    def __init__(self, out, err, rc):
        self.out, self.err, self.rc = out, err, rc

    @property
    def lines(self):
        return self.out.splitlines()

    def __repr__(self):
        return "rc=%s\n--- stdout\n%s--- stderr\n%s" % (self.rc, self.out, self.err)


def service_file(name, kind="runtime.service", body="while True:\n    await asyncio.sleep_ms(10)",
                 params="", attrs=""):
    """Source of a small service `name` written to the asyncmd conventions."""
    return SERVICE_TEMPLATE % {
        "cls": name.title() + "Service", "name": name, "kind": kind, "params": params,
        "attrs": textwrap.indent(textwrap.dedent(attrs), " " * 8),
        "body": textwrap.indent(textwrap.dedent(body), " " * 8)}


SERVICE_TEMPLATE = """\
import asyncio
import aioctl
from aioclass import Service


class %(cls)s(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "%(name)s test service"
        self.type = "%(kind)s"
%(attrs)s

    @aioctl.aiotask
    async def task(self%(params)s, log=None):
%(body)s


service = %(cls)s("%(name)s")
"""


def async_script(body, imports="asyncio, aioctl, aioservice"):
    """A script that runs body as the body of `async def main()`."""
    return "import %s\n\nasync def main():\n%s\n\nasyncio.run(main())\n" % (
        imports, textwrap.indent(textwrap.dedent(body), "    "))


class Runner:
    def __init__(self, workdir, board=None):
        self.workdir = workdir
        self.board = board

    def write(self, name, text):
        """Put a file (services.config, .env, a module) in the working directory."""
        path = os.path.join(self.workdir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def services(self, files, config=None, env=None, watcher=False, compiled=False):
        """Lay out aioservices/services/ with files {name: source} (name_service.py,
        or .mpy made by mpy-cross when compiled, as a board holds them),
        services.config / .env when given, and the bundled watcher if asked."""
        pkg = os.path.join(self.workdir, "aioservices")
        os.makedirs(os.path.join(pkg, "services"), exist_ok=True)
        bundled = ("__init__.mpy", "services/__init__.mpy")
        for rel in bundled + (("services/watcher_service.mpy",) if watcher else ()):
            shutil.copy(os.path.join(LIB, "aioservices", rel), os.path.join(pkg, rel))
        for name, source in files.items():
            path = self.write("aioservices/services/%s_service.py" % name, source)
            if compiled:
                subprocess.run([CROSS, "-o", path[:-3] + ".mpy", "%s_service.py" % name],
                               cwd=os.path.dirname(path), check=True)
                os.remove(path)
        if config is not None:
            text = config if isinstance(config, str) else json.dumps(config)
            self.write("services.config", text)
        if env is not None:
            self.write(".env", env)

    def run(self, code, heap=DEFAULT_HEAP, timeout=30, args=(), compiled=False, bits=64):
        """Run code (a script's text) and return its Result. compiled: run it
        as .mpy, so that compiling it does not take room in the heap. bits=32:
        on the 32-bit build (board-sized objects); skips the test without it."""
        script = self.write("test_script.py", code)
        if self.board:
            return self._run_on_board(script, timeout)
        interpreter = MICROPYTHON
        if bits == 32:
            if not os.path.exists(MICROPYTHON32):
                pytest.skip("no 32-bit MicroPython at %s: `make micropython` builds it "
                            "(needs gcc-multilib)" % MICROPYTHON32)
            interpreter = MICROPYTHON32
        env = dict(os.environ, MICROPYPATH=":".join((".frozen", LIB, LOGGING, MPLIB)))
        cmd = [interpreter, "-X", "heapsize=" + heap, script] + list(args)
        if compiled:
            subprocess.run([CROSS, "test_script.py"], cwd=self.workdir, check=True)
            os.remove(script)
            cmd = [interpreter, "-X", "heapsize=" + heap, "-c", "import test_script"]
        try:
            res = subprocess.run(cmd, cwd=self.workdir, env=env, capture_output=True,
                                 text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail("timed out after %s s; output so far:\n%s" % (timeout, e.stdout))
        return Result(res.stdout, res.stderr, res.returncode)

    def run_async(self, body, **kw):
        """Run body inside `async def main()` with asyncio, aioctl, aioservice imported."""
        return self.run(async_script(body), **kw)

    def _run_on_board(self, script, timeout):
        mpremote = [sys.executable, "-m", "mpremote", "connect", self.board]
        for name in os.listdir(self.workdir):
            if name != "test_script.py":
                subprocess.run(mpremote + ["fs", "cp", os.path.join(self.workdir, name), ":"],
                               check=True, capture_output=True)
        res = subprocess.run(mpremote + ["run", script], capture_output=True, text=True,
                             timeout=timeout)
        return Result(res.stdout.replace("\r\n", "\n"), res.stderr, res.returncode)


@pytest.fixture(scope="session")
def board(request):
    port = request.config.getoption("--board")
    if port:  # the project goes to the board's /lib once per session, flat as a board has it
        compile_mpy.compile_to(LIB)
        mpremote = [sys.executable, "-m", "mpremote", "connect", port, "fs"]
        subprocess.run(mpremote + ["mkdir", ":/lib"], capture_output=True)  # may exist
        files = [os.path.join(LIB, f) for f in sorted(os.listdir(LIB)) if f.endswith(".mpy")]
        files += [os.path.join(LOGGING, f) for f in sorted(os.listdir(LOGGING))]
        files += [os.path.join(MPLIB_SRC, f) for f in sorted(os.listdir(MPLIB_SRC))
                  if f.endswith(".py")]
        for path in files + [os.path.join(LIB, "aioservices")]:
            subprocess.run(mpremote + ["cp", "-r", path, ":/lib/"], check=True)
    return port


@pytest.fixture(scope="session")
def compiled():
    if not os.path.exists(MICROPYTHON):
        pytest.exit("no MicroPython at %s: run `make micropython`" % MICROPYTHON, 2)
    compile_mpy.compile_to(LIB)
    # the test helpers too, so that compiling them takes no room in a test's heap
    os.makedirs(MPLIB, exist_ok=True)
    for name in os.listdir(MPLIB_SRC):
        if name.endswith(".py"):
            subprocess.run([CROSS, "-o", os.path.join(MPLIB, name[:-3] + ".mpy"), name],
                           cwd=MPLIB_SRC, check=True)
    return LIB


@pytest.fixture
def mp(tmp_path, compiled, board):
    return Runner(str(tmp_path), board)
