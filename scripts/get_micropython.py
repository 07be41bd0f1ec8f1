#!/usr/bin/env python3
"""Provide a unix-port `micropython` and the matching `mpy-cross` in .build/bin.

Order of preference:
1. $MICROPYTHON (and $MPY_CROSS), or `micropython` / `mpy-cross` on PATH,
   when the interpreter is 1.23 or newer and mpy-cross emits its .mpy version;
2. otherwise MicroPython 1.25.0 built from Debian's source package, fetched
   with apt-get into private state directories (the machine's apt
   configuration is read, never changed).

A second run finds .build/bin ready and returns at once. $MPSYSD_BUILD
moves .build elsewhere.
Host-side script (CPython); prints the interpreter's path on success.
"""
import glob
import hashlib
import os
import pwd
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("MPSYSD_BUILD") or os.path.join(ROOT, ".build")
BIN = os.path.join(BUILD, "bin")
SRC = os.path.join(BUILD, "src")
STAMP = os.path.join(BIN, "SOURCE")

PACKAGE = "micropython"
VERSION = "1.25.0+ds-1"
SUITE = "trixie"
ORIG_SHA256 = "7b25be99a502f070b2de81dafc08da7051d992325d6e67daa9045a918fffdbea"
TREE = os.path.join(SRC, "micropython-1.25.0")
MIN_VERSION = (1, 23)

MANUAL = """\
How to install MicroPython by hand instead:
  git clone https://github.com/micropython/micropython && cd micropython
  make -C mpy-cross && make -C ports/unix submodules && make -C ports/unix
then point MICROPYTHON and MPY_CROSS at ports/unix/build-standard/micropython
and mpy-cross/build/mpy-cross (1.23 or newer) and run `make micropython` again."""


class Unavailable(Exception):
    """The interpreter cannot be provided on this machine; the text says why."""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def probe_interpreter(path):
    """(version tuple, mpy version string like '6.3') of a micropython, or None."""
    code = ("import sys;i=sys.implementation;"
            "print(i.version[0],i.version[1],i._mpy&255,i._mpy>>8&3)")
    try:
        major, minor, mpy, sub = run([path, "-c", code], timeout=10).split()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return (int(major), int(minor)), "%s.%s" % (mpy, sub)


def probe_cross(path):
    """The .mpy version an mpy-cross emits ('6.3'), or None."""
    try:
        found = re.search(r"mpy v(\d+\.\d+)", run([path, "--version"], timeout=10))
    except (OSError, subprocess.SubprocessError):
        return None
    return found and found.group(1)


def ready():
    """True when .build/bin already holds a working, matching pair."""
    mp, cross = os.path.join(BIN, "micropython"), os.path.join(BIN, "mpy-cross")
    if not (os.path.exists(mp) and os.path.exists(cross) and os.path.exists(STAMP)):
        return False
    with open(STAMP) as f:
        if f.read().strip() != wanted_source():
            return False
    found = probe_interpreter(mp)
    return bool(found) and found[1] == probe_cross(cross)


def wanted_source():
    """What the user asked for: an explicit interpreter, else 'auto'."""
    return os.environ.get("MICROPYTHON") or "auto"


def install(mp, cross, source):
    os.makedirs(BIN, exist_ok=True)
    for name, target in (("micropython", mp), ("mpy-cross", cross)):
        link = os.path.join(BIN, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(target), link)
    with open(STAMP, "w") as f:
        f.write(source + "\n")


def from_environment():
    """A suitable interpreter and mpy-cross already on this machine, or None."""
    mp = os.environ.get("MICROPYTHON") or shutil.which("micropython")
    if not mp:
        return None
    found = probe_interpreter(mp)
    if not found:
        return None
    if found[0] < MIN_VERSION:
        print("get_micropython: skipping %s: version %d.%d is older than 1.23"
              % ((mp,) + found[0]))
        return None
    cross = os.environ.get("MPY_CROSS") or shutil.which("mpy-cross")
    if not cross or probe_cross(cross) != found[1]:
        print("get_micropython: skipping %s: no mpy-cross emitting mpy v%s" % (mp, found[1]))
        return None
    return mp, cross


def mirror():
    """(URI, keyring or None) of the Debian archive this machine's apt already uses."""
    entries = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            for stanza in f.read().split("\n\n"):
                fields = dict(
                    line.split(":", 1) for line in stanza.splitlines()
                    if ":" in line and not line.startswith(("#", " "))
                )
                fields = {k.strip(): v.strip() for k, v in fields.items()}
                if "URIs" in fields:
                    entries.append((fields["URIs"].split()[0], fields.get("Suites", ""),
                                    fields.get("Signed-By")))
    if os.path.exists("/etc/apt/sources.list"):
        with open("/etc/apt/sources.list") as f:
            for line in f:
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 3 and words[0] in ("deb", "deb-src"):
                    entries.append((words[1], words[2], None))
    for uri, suites, keyring in entries:
        if "security" not in suites and "/debian" in uri:
            return uri, keyring
    raise Unavailable("no Debian archive found in /etc/apt/sources.list{,.d/*.sources}")


def fetch_source():
    """Download and unpack Debian's micropython source package into .build/src."""
    for tool in ("apt-get", "dpkg-source"):
        if not shutil.which(tool):
            raise Unavailable("%s not found: this is not a Debian-like machine" % tool)
    uri, keyring = mirror()
    state = os.path.join(SRC, "apt")
    for sub in ("lists/partial", "cache/archives/partial"):
        os.makedirs(os.path.join(state, sub), exist_ok=True)
    listing = os.path.join(state, "sources.list")
    option = "[signed-by=%s] " % keyring if keyring and keyring.startswith("/") else ""
    with open(listing, "w") as f:
        f.write("deb-src %s%s %s main\n" % (option, uri, SUITE))
    apt = [
        "apt-get", "-q", "-oDir::Etc::SourceList=" + listing, "-oDir::Etc::SourceParts=/dev/null",
        "-oDir::State::Lists=" + os.path.join(state, "lists"),
        "-oDir::Cache=" + os.path.join(state, "cache"),
        "-oAPT::Sandbox::User=" + pwd.getpwuid(os.getuid()).pw_name,
    ]
    print("get_micropython: fetching Debian source %s %s" % (PACKAGE, VERSION))
    try:
        run(apt + ["update"])
        run(apt + ["source", "--download-only", "%s=%s" % (PACKAGE, VERSION)], cwd=SRC)
    except subprocess.CalledProcessError as e:
        raise Unavailable("apt-get failed: %s" % (e.stderr or e.stdout).strip().splitlines()[-1])
    orig = os.path.join(SRC, "micropython_1.25.0+ds.orig.tar.xz")
    with open(orig, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != ORIG_SHA256:
        raise Unavailable("%s has sha256 %s, expected %s" % (orig, digest, ORIG_SHA256))
    shutil.rmtree(TREE, ignore_errors=True)
    run(["dpkg-source", "-x", "micropython_%s.dsc" % VERSION, TREE], cwd=SRC)


def build():
    """Build mpy-cross and the unix port (asyncio frozen in) from .build/src."""
    for tool in ("make", "cc"):
        if not shutil.which(tool):
            raise Unavailable("%s not found: a C toolchain is needed to build MicroPython" % tool)
    if not os.path.isdir(os.path.join(TREE, "ports", "unix")):
        fetch_source()
    jobs = "-j%d" % (os.cpu_count() or 1)
    print("get_micropython: building mpy-cross and the unix port (about 30 s)")
    try:
        run(["make", jobs, "-C", "mpy-cross"], cwd=TREE)
        run(["make", jobs, "-C", "ports/unix", "STRIP=true",
             "FROZEN_MANIFEST=../../debian/config/manifest.py", "MICROPY_PY_SSL=0",
             "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0"], cwd=TREE)
    except subprocess.CalledProcessError as e:
        tail = "\n".join((e.stdout + e.stderr).strip().splitlines()[-15:])
        raise Unavailable("the MicroPython build failed:\n" + tail)
    return (os.path.join(TREE, "ports/unix/build-standard/micropython"),
            os.path.join(TREE, "mpy-cross/build/mpy-cross"))


def main():
    if ready():
        print(os.path.join(BIN, "micropython"))
        return 0
    try:
        found = from_environment()
        if found:
            install(found[0], found[1], wanted_source())
        else:
            if os.environ.get("MICROPYTHON"):
                raise Unavailable("$MICROPYTHON=%s is not a usable MicroPython 1.23+ with a "
                                  "matching $MPY_CROSS" % os.environ["MICROPYTHON"])
            mp, cross = build()
            install(mp, cross, wanted_source())
    except Unavailable as e:
        print("get_micropython: cannot provide MicroPython: %s\n%s" % (e, MANUAL), file=sys.stderr)
        return 1
    if not ready():
        print("get_micropython: %s does not run" % os.path.join(BIN, "micropython"),
              file=sys.stderr)
        return 1
    print(os.path.join(BIN, "micropython"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
