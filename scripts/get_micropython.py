#!/usr/bin/env python3
"""Provide unix-port interpreters and the matching `mpy-cross` in .build/bin:
`micropython` (64-bit, the tests' default) and `micropython32` (the same
source built with MICROPY_FORCE_32BIT=1: object sizes, hence every heap
figure, are a 32-bit board's).

Order of preference for `micropython`:
1. $MICROPYTHON (and $MPY_CROSS), or `micropython` / `mpy-cross` on PATH,
   when the interpreter is 1.23 or newer and mpy-cross emits its .mpy version;
2. otherwise MicroPython 1.25.0 built from Debian's source package, fetched
   with apt-get into private state directories (the machine's apt
   configuration is read, never changed).
`micropython32` is $MICROPYTHON32, else built from that same source tree;
it needs gcc-multilib (installed with apt-get when running as root).
Interpreters built here have TLS (the `tls` module, against the system
mbedtls) when libmbedtls-dev is installed or, as root, can be.

A second run finds .build/bin ready and returns at once; a machine with the
64-bit pair but no micropython32 builds only that. Binaries are replaced by
renaming a new link over the old one, so tests running meanwhile never miss
them. $MPSYSD_BUILD moves .build elsewhere.
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
STAMP32 = os.path.join(BIN, "SOURCE32")
# What a build from source is made of; a pair built from source with an older
# recipe is built again (recipe 2: TLS when mbedtls is there).
RECIPE = "recipe 2"
PORT_FLAGS = ["STRIP=true", "FROZEN_MANIFEST=../../debian/config/manifest.py",
              "MICROPY_PY_BTREE=0", "MICROPY_PY_FFI=0"]
TLS_FLAGS = ["MICROPY_PY_SSL=1", "MICROPY_SSL_MBEDTLS=1", "MICROPY_SSL_AXTLS=0"]
NO_TLS_FLAGS = ["MICROPY_PY_SSL=0"]

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


def probe_interpreter(path, bits=False):
    """(version tuple, mpy version string like '6.3') of a micropython, or None;
    with bits, also its word size (32 or 64)."""
    code = ("import sys;i=sys.implementation;"
            "print(i.version[0],i.version[1],i._mpy&255,i._mpy>>8&3,sys.maxsize>>40)")
    try:
        major, minor, mpy, sub, big = run([path, "-c", code], timeout=10).split()
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    found = (int(major), int(minor)), "%s.%s" % (mpy, sub)
    return found + (64 if int(big) else 32,) if bits else found


def probe_cross(path):
    """The .mpy version an mpy-cross emits ('6.3'), or None."""
    try:
        found = re.search(r"mpy v(\d+\.\d+)", run([path, "--version"], timeout=10))
    except (OSError, subprocess.SubprocessError):
        return None
    return found and found.group(1)


def stamped(path, want):
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return f.read().strip() == want


def built_from_source(path):
    """True when path is a link into a unix-port build tree (this checkout's or,
    when .build/bin is shared, another's)."""
    return "/ports/unix/build-" in os.path.realpath(path)


def ready():
    """True when .build/bin already holds a working, matching pair."""
    mp, cross = os.path.join(BIN, "micropython"), os.path.join(BIN, "mpy-cross")
    if not (os.path.exists(mp) and os.path.exists(cross)):
        return False
    built = wanted_source() == "auto" and built_from_source(mp)
    want = wanted_source() + ("\n" + RECIPE if built else "")
    if not stamped(STAMP, want):
        return False
    found = probe_interpreter(mp)
    return bool(found) and found[1] == probe_cross(cross)


def ready32():
    """True when .build/bin holds a 32-bit micropython32 that runs mpy-cross's .mpy."""
    mp = os.path.join(BIN, "micropython32")
    if not (os.path.exists(mp) and stamped(STAMP32, wanted_source32())):
        return False
    found = probe_interpreter(mp, bits=True)
    return bool(found) and found[2] == 32 and found[1] == probe_cross(
        os.path.join(BIN, "mpy-cross"))


def wanted_source():
    """What the user asked for: an explicit interpreter, else 'auto'."""
    return os.environ.get("MICROPYTHON") or "auto"


def wanted_source32():
    return os.environ.get("MICROPYTHON32") or "auto\n" + RECIPE


def link(name, target):
    """Point BIN/name at target by renaming a new link over the old one: a
    program starting meanwhile finds either binary, never none."""
    os.makedirs(BIN, exist_ok=True)
    path = os.path.join(BIN, name)
    tmp = path + ".new"
    if os.path.lexists(tmp):
        os.remove(tmp)
    os.symlink(os.path.abspath(target), tmp)
    os.replace(tmp, path)


def stamp(path, text):
    with open(path + ".new", "w") as f:
        f.write(text + "\n")
    os.replace(path + ".new", path)


def install(mp, cross, source):
    link("mpy-cross", cross)
    link("micropython", mp)
    stamp(STAMP, source)


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


def compiles(source, *flags):
    """True when the C compiler builds and links source with flags."""
    if not shutil.which("cc"):
        return False
    os.makedirs(SRC, exist_ok=True)
    out = os.path.join(SRC, "probe.out")
    try:
        subprocess.run(["cc", "-x", "c", "-", "-o", out] + list(flags), input=source,
                       text=True, capture_output=True, check=True, timeout=60)
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        if os.path.exists(out):
            os.remove(out)


def apt_install(package):
    """Install a Debian package when running as root; True when it is installed."""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    print("get_micropython: installing %s with apt-get" % package)
    cmd = ["apt-get", "install", "-y", "-q", package]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for attempt in ("install", "update first"):
        try:
            if attempt == "update first":  # the package lists may be stale or empty
                run(["apt-get", "update", "-q"], env=env)
            run(cmd, env=env)
            return True
        except (OSError, subprocess.CalledProcessError):
            continue
    return False


TLS_PROBE = "#include <mbedtls/ssl.h>\nint main(void){mbedtls_ssl_init(0);return 0;}\n"
TLS_LIBS = ("-lmbedx509", "-lmbedtls", "-lmbedcrypto")
M32_PROBE = "#include <stdio.h>\nint main(void){puts(\"\");return 0;}\n"


def tls_flags(*arch):
    """The make flags for TLS when mbedtls links for arch, else for no TLS."""
    if compiles(TLS_PROBE, *(arch + TLS_LIBS)):
        return TLS_FLAGS
    return NO_TLS_FLAGS


def want_mbedtls():
    """Install libmbedtls-dev when it is missing and we may (root); else say so."""
    if compiles(TLS_PROBE, *TLS_LIBS) or apt_install("libmbedtls-dev"):
        return
    print("get_micropython: building without TLS: libmbedtls-dev is not installed "
          "(apt-get install libmbedtls-dev, then delete %s)" % STAMP, file=sys.stderr)


def make(target, *flags):
    jobs = "-j%d" % (os.cpu_count() or 1)
    try:
        run(["make", jobs, "-C", target] + list(flags), cwd=TREE)
    except subprocess.CalledProcessError as e:
        tail = "\n".join((e.stdout + e.stderr).strip().splitlines()[-15:])
        raise Unavailable("the MicroPython build failed:\n" + tail)


def build():
    """Build mpy-cross and the unix port (asyncio frozen in) from .build/src.
    Each flavour has its own build directory, so that a binary in use is
    never rewritten in place."""
    for tool in ("make", "cc"):
        if not shutil.which(tool):
            raise Unavailable("%s not found: a C toolchain is needed to build MicroPython" % tool)
    if not os.path.isdir(os.path.join(TREE, "ports", "unix")):
        fetch_source()
    want_mbedtls()
    flags = tls_flags()
    flavour = "build-tls" if flags is TLS_FLAGS else "build-notls"
    print("get_micropython: building mpy-cross and the unix port (about 30 s)")
    make("mpy-cross")
    make("ports/unix", "BUILD=" + flavour, *(PORT_FLAGS + flags))
    return (os.path.join(TREE, "ports/unix", flavour, "micropython"),
            os.path.join(TREE, "mpy-cross/build/mpy-cross"))


MULTILIB = ("get_micropython: the 32-bit interpreter needs Debian's gcc-multilib: "
            "run `sudo apt-get install gcc-multilib`, then `make micropython` again")


def build32():
    """Build micropython32 (MICROPY_FORCE_32BIT=1) from the same source tree."""
    if not os.path.isdir(os.path.join(TREE, "ports", "unix")):
        fetch_source()
    if not compiles(M32_PROBE, "-m32") and not (
            apt_install("gcc-multilib") and compiles(M32_PROBE, "-m32")):
        raise Unavailable(MULTILIB)
    flags = tls_flags("-m32")  # TLS only where a 32-bit mbedtls is installed
    flavour = "build-32tls" if flags is TLS_FLAGS else "build-32"
    print("get_micropython: building the 32-bit unix port (about 60 s)")
    make("ports/unix", "BUILD=" + flavour, "MICROPY_FORCE_32BIT=1", *(PORT_FLAGS + flags))
    return os.path.join(TREE, "ports/unix", flavour, "micropython")


def provide32():
    """micropython32 in BIN: $MICROPYTHON32, else built here."""
    mp = os.environ.get("MICROPYTHON32")
    if mp:
        found = probe_interpreter(mp, bits=True)
        if not found or found[2] != 32:
            raise Unavailable("$MICROPYTHON32=%s is not a 32-bit MicroPython" % mp)
    else:
        mp = build32()
    link("micropython32", mp)
    stamp(STAMP32, wanted_source32())
    if not ready32():
        raise Unavailable("%s does not run the .mpy files of %s" % (
            os.path.join(BIN, "micropython32"), os.path.join(BIN, "mpy-cross")))


def provide():
    """micropython and mpy-cross in BIN."""
    found = from_environment()
    if found:
        install(found[0], found[1], wanted_source())
        return
    if os.environ.get("MICROPYTHON"):
        raise Unavailable("$MICROPYTHON=%s is not a usable MicroPython 1.23+ with a "
                          "matching $MPY_CROSS" % os.environ["MICROPYTHON"])
    mp, cross = build()
    install(mp, cross, wanted_source() + "\n" + RECIPE)


def main():
    if not ready():
        try:
            provide()
        except Unavailable as e:
            print("get_micropython: cannot provide MicroPython: %s\n%s" % (e, MANUAL),
                  file=sys.stderr)
            return 1
        if not ready():
            print("get_micropython: %s does not run" % os.path.join(BIN, "micropython"),
                  file=sys.stderr)
            return 1
    if not ready32():
        try:
            provide32()
        except Unavailable as e:
            text = str(e)
            print(text if text.startswith("get_micropython:") else
                  "get_micropython: cannot provide micropython32: " + text, file=sys.stderr)
            return 1
    print(os.path.join(BIN, "micropython"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
