"""mip packages: installed with mpremote's own mip logic into a folder that
stands in for a board's filesystem (no network), then run on the unix port;
the compiled modules in mpy/ that the first ones install are current."""
import ast
import os
import re
import shutil
import subprocess
import sys

import pytest
from mpremote import mip

import compile_mpy
import make_packages
from conftest import MICROPYTHON, MICROPYTHON32, ROOT, service_file

pytestmark = pytest.mark.unix_only

# The compiled packages (package.json, services.json, app.json) boot on the
# 32-bit build, whose objects are a board's size. The target is 64K (make
# bench, b); the bundle boots cleanly from 72K today, so the test allows 80K.
COMPILED_HEAP = "80K"
# The sources packages compile at import (the watcher most), so they get more.
SOURCE_HEAP = "256K"
# What a board's MicroPython provides, and what the code imports only when present
BOARD_MODULES = {"asyncio", "uasyncio", "gc", "io", "json", "micropython", "os", "sys", "time",
                 "machine", "logging", "aiorepl", "_thread", "tls", "binascii"}


class FolderBoard:
    """The part of mpremote's transport that mip uses, writing into a folder."""

    def __init__(self, root):
        self.root = root

    def _path(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def fs_exists(self, path):
        return os.path.exists(self._path(path))

    def fs_mkdir(self, path):
        os.mkdir(self._path(path))

    def fs_writefile(self, path, data, progress_callback=None):
        with open(self._path(path), "wb") as f:
            f.write(data)


def install(board_root, package, target="/lib"):
    os.makedirs(board_root, exist_ok=True)
    mip._install_package(FolderBoard(board_root), os.path.join(ROOT, package),
                         mip._PACKAGE_INDEX, target, None, False)


def imports(path):
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module.split(".")[0]


def board_env(board_root):
    return dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(board_root, "lib"),
                MPSYSD_PROMPT="off")


def run_for(cmd, cwd, env, seconds):
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        return proc.communicate(timeout=seconds)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def pinned_cross():
    problem = make_packages.cross_problem()
    if problem:
        pytest.skip(problem)


def interpreter(package):
    """The interpreter and heap a package's app runs with here."""
    if "-src" in package:
        return [MICROPYTHON, "-X", "heapsize=" + SOURCE_HEAP]
    if not os.path.exists(MICROPYTHON32):
        pytest.skip("no 32-bit MicroPython at %s: `make micropython` builds it" % MICROPYTHON32)
    return [MICROPYTHON32, "-X", "heapsize=" + COMPILED_HEAP]


def files_under(top):
    """{path relative to top: bytes} of every file below top."""
    found = {}
    for folder, _, names in os.walk(top):
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                found[os.path.relpath(os.path.join(folder, name), top)] = f.read()
    return found


def test_package_files_are_current_and_exist():
    pinned_cross()
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_packages.py"),
                    "--check"], check=True)
    for name, urls in make_packages.packages().items():
        for _dest, src in urls:
            assert os.path.exists(os.path.join(ROOT, src)), (name, src)


def test_each_committed_mpy_is_its_source_compiled_now():
    pinned_cross()
    stale, fresh = make_packages.stale_mpy(os.path.join(ROOT, make_packages.MPY))
    shutil.rmtree(fresh)
    assert stale == [], "not current, run `make packages`: %s" % stale


def test_the_check_names_a_changed_missing_or_left_over_mpy(tmp_path):
    pinned_cross()
    mpy = str(tmp_path / "mpy")
    shutil.copytree(os.path.join(ROOT, make_packages.MPY), mpy)
    with open(os.path.join(mpy, "aioctl.mpy"), "ab") as f:
        f.write(b"\0")
    os.remove(os.path.join(mpy, "journal.mpy"))
    open(os.path.join(mpy, "aioservices", "gone.mpy"), "wb").close()
    stale, fresh = make_packages.stale_mpy(mpy)
    shutil.rmtree(fresh)
    assert sorted(stale) == ["aioctl.mpy", "aioservices/gone.mpy", "journal.mpy"]


def test_compiled_modules_name_their_module_in_tracebacks():
    # tracebacks say File "journal", the same on every machine: the module's
    # own name, which the board has interned already (a file name would be
    # one more permanent qstr per module)
    for path, src, name in make_packages.mpy_files():
        with open(os.path.join(ROOT, make_packages.MPY, path), "rb") as f:
            head = f.read(64)
        assert name == compile_mpy.source_name(src) and head[:2] == b"M\x06", (path, head)
        # after the header and two counts comes the first qstr, the source's name
        assert 6 < head.find(name.encode() + b"\0") <= 10, (path, head)


@pytest.mark.parametrize("package, target", [("package-src.json", "/lib"),
                                             ("services-src.json", "/lib"),
                                             ("app-src.json", "/")])
def test_each_package_holds_what_its_code_imports(tmp_path, package, target):
    board = str(tmp_path / "board")
    install(board, package, target)
    lib = os.path.join(board, "lib")
    modules = {f[:-3] for f in os.listdir(lib) if f.endswith(".py")} | {"aioservices"}
    for top, _, files in os.walk(board):
        for f in files:
            if f.endswith(".py"):
                missing = set(imports(os.path.join(top, f))) - modules - BOARD_MODULES
                assert not missing, (package, f, missing)


@pytest.mark.parametrize("package, target", [("package.json", "/lib"),
                                             ("services.json", "/lib"), ("app.json", "/")])
def test_compiled_packages_install_the_modules_of_the_sources_ones(tmp_path, package, target):
    install(str(tmp_path / "mpy"), package, target)
    install(str(tmp_path / "src"), package.replace(".json", "-src.json"), target)
    compiled = files_under(str(tmp_path / "mpy"))
    assert sorted(p for p in compiled if p.endswith(".py")) == \
        (["boot.py", "main.py"] if package == "app.json" else [])
    assert sorted(p[:-4] + ".py" if p.endswith(".mpy") else p for p in compiled) == \
        sorted(files_under(str(tmp_path / "src")))


def test_app_bundle_is_what_make_mpy_builds(tmp_path):
    import make_dist

    install(str(tmp_path / "board"), "app.json", "/")
    make_dist.build(str(tmp_path / "dist"))
    board, dist = files_under(str(tmp_path / "board")), files_under(str(tmp_path / "dist"))
    assert sorted(board) == sorted(dist)
    assert [p for p in board if board[p] != dist[p]] == []


@pytest.mark.parametrize("package, ext", [("app.json", "mpy"), ("app-src.json", "py")])
def test_app_bundle_boots_on_the_unix_port(tmp_path, package, ext):
    board = str(tmp_path / "board")
    install(board, package, "/")
    assert sorted(os.listdir(board)) == [".env", "boot.py", "lib", "main.py", "services.config"]
    out = run_for(interpreter(package) + ["main.py"], board, board_env(board), 2)
    assert "boot order: wifi -> clock" in out, out
    assert "[ OK ] Service: wifi.service from lib/aioservices/services/wifi_service.%s" % ext \
        in out, out
    assert re.search(r"\[ OK \] Service: watcher.service from .*watcher_service.%s started" % ext,
                     out), out
    assert "[ OK ] Service: hello.service" in out
    assert "memory allocation failed" not in out and "MemoryError" not in out, out


@pytest.mark.parametrize("package", ["services.json", "services-src.json"])
def test_core_and_services_packages_run_a_dropped_in_service(tmp_path, package):
    board = str(tmp_path / "board")
    install(board, package)
    with open(os.path.join(board, "lib", "aioservices", "services", "mine_service.py"), "w") as f:
        f.write(service_file("mine", body="return 'mine ran'"))
    with open(os.path.join(board, "main.py"), "w") as f:
        f.write("import asyncio, aioctl, aioservice\n"
                "async def main():\n"
                "    aioservice.init(debug=True)\n"
                "    await asyncio.sleep_ms(50)\n"
                "    print(aioctl.result('mine.service'))\n"
                "asyncio.run(main())\n")
    out = run_for(interpreter(package) + ["main.py"], board, board_env(board), 10)
    assert "watcher_service.%s started" % ("py" if "-src" in package else "mpy") in out, out
    assert out.splitlines()[-1] == "mine ran", out


def test_make_mpy_tree_runs_the_app_from_mpy(tmp_path):
    import make_dist

    dist = str(tmp_path / "dist")
    make_dist.build(dist)
    lib = os.path.join(dist, "lib")
    sources = [f for top, _, files in os.walk(lib) for f in files if f.endswith(".py")]
    assert sources == []  # everything in lib/ is .mpy
    out = run_for([MICROPYTHON, "-X", "heapsize=128K", "main.py"], dist, board_env(dist), 2)
    assert "[ OK ] Service: wifi.service from lib/aioservices/services/wifi_service.mpy" in out
    assert re.search(r"\[ OK \] Service: watcher.service from .*watcher_service.mpy started", out)
    assert "[ OK ] Service: hello.service from lib/aioservices/services/hello_service.mpy " \
           "started" in out, out


def test_frozen_unix_firmware_boots_the_app(tmp_path):
    import build_firmware
    import make_dist

    firmware = build_firmware.build()  # about 30 s: the unix port with the core frozen in
    dist = str(tmp_path / "dist")
    make_dist.build(dist)
    board = str(tmp_path / "board")
    os.makedirs(os.path.join(board, "lib"))
    # only what stays on the filesystem: aioservices/, main.py, boot.py, the config
    shutil.copytree(os.path.join(dist, "lib", "aioservices"),
                    os.path.join(board, "lib", "aioservices"))
    for name in ("main.py", "boot.py", "services.config", ".env"):
        shutil.copy(os.path.join(dist, name), board)
    check = run_for([firmware, "-c", "import aioctl, journal, aioservice; "
                     "print(aioctl.__file__, journal.__file__)"], board, board_env(board), 10)
    assert check.strip() == "aioctl.py journal.py", check  # frozen: no lib/ path
    out = run_for([firmware, "-X", "heapsize=128K", "main.py"], board, board_env(board), 2)
    assert "boot order: wifi -> clock" in out, out
    assert "[ OK ] Service: hello.service from lib/aioservices/services/hello_service.mpy " \
           "started" in out, out
    assert re.search(r"watcher_service.mpy started", out), out


def test_manifest_freezes_the_core_of_the_packages():
    with open(os.path.join(ROOT, "manifest.py")) as f:
        frozen = re.findall(r'^module\("([\w.]+)"(?:, base_path="([\w/]+)")?\)$', f.read(), re.M)
    frozen = sorted(os.path.join(base, name) if base else name for name, base in frozen)
    core = sorted(rel for rel in make_packages.core_files() if not rel.startswith("aioservices/"))
    assert frozen == core
