"""scripts/get_micropython.py and the interpreter the tests run on."""
import os
import subprocess
import sys

import pytest

from conftest import CROSS, MICROPYTHON, MICROPYTHON32, ROOT

SCRIPT = os.path.join(ROOT, "scripts", "get_micropython.py")
pytestmark = pytest.mark.unix_only


def get(env):
    return subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True,
                          timeout=60)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("MICROPYTHON", "MPY_CROSS", "MICROPYTHON32")}
    env.update(extra)
    return env


def test_second_run_is_cached():
    res = get(clean_env())
    assert res.returncode == 0, res.stderr
    assert res.stdout == MICROPYTHON + "\n"  # nothing fetched, nothing built


def test_interpreter_is_recent_with_asyncio(mp):
    r = mp.run("import sys, asyncio\n"
               "print(sys.implementation.name, sys.implementation.version >= (1, 23))")
    assert r.lines == ["micropython True"], r


def test_heap_is_microcontroller_sized(mp):
    r = mp.run("""
        import gc
        gc.collect()
        print(gc.mem_alloc() + gc.mem_free() <= 128 * 1024)
        try:
            b = bytearray(140 * 1024)
        except MemoryError:
            print("MemoryError")
    """)
    assert r.lines == ["True", "MemoryError"], r


def test_explicit_interpreter_is_used(tmp_path):
    env = clean_env(MICROPYTHON=MICROPYTHON, MPY_CROSS=CROSS, MICROPYTHON32=MICROPYTHON32,
                    MPSYSD_BUILD=str(tmp_path))
    res = get(env)
    assert res.returncode == 0, res.stderr
    link = tmp_path / "bin" / "micropython"
    assert res.stdout.strip() == str(link)
    assert os.path.realpath(link) == os.path.realpath(MICROPYTHON)
    assert os.path.realpath(tmp_path / "bin" / "micropython32") == os.path.realpath(MICROPYTHON32)
    assert get(env).stdout.strip() == str(link)


def test_missing_32bit_interpreter_alone_is_provided(tmp_path):
    env = clean_env(MICROPYTHON=MICROPYTHON, MPY_CROSS=CROSS, MICROPYTHON32=MICROPYTHON32,
                    MPSYSD_BUILD=str(tmp_path))
    assert get(env).returncode == 0
    pair = [tmp_path / "bin" / name for name in ("micropython", "mpy-cross", "SOURCE")]
    before = [os.lstat(p).st_ino for p in pair]
    os.remove(tmp_path / "bin" / "micropython32")
    res = get(env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(tmp_path / "bin" / "micropython")
    assert [os.lstat(p).st_ino for p in pair] == before  # the pair was left alone
    assert os.path.realpath(tmp_path / "bin" / "micropython32") == os.path.realpath(MICROPYTHON32)


def test_64bit_interpreter_as_32bit_is_one_clear_error(tmp_path):
    env = clean_env(MICROPYTHON=MICROPYTHON, MPY_CROSS=CROSS, MICROPYTHON32=MICROPYTHON,
                    MPSYSD_BUILD=str(tmp_path))
    res = get(env)
    assert res.returncode == 1
    assert res.stderr == ("get_micropython: cannot provide micropython32: $MICROPYTHON32=%s "
                          "is not a 32-bit MicroPython\n" % MICROPYTHON)


def test_unusable_explicit_interpreter_is_one_clear_error(tmp_path):
    env = clean_env(MICROPYTHON="/bin/true", MPSYSD_BUILD=str(tmp_path))
    res = get(env)
    assert res.returncode == 1
    assert "get_micropython: cannot provide MicroPython: $MICROPYTHON=/bin/true is not a " \
           "usable MicroPython 1.23+" in res.stderr
    assert "How to install MicroPython by hand" in res.stderr


def test_no_toolchain_is_one_clear_error(tmp_path):
    empty = tmp_path / "emptybin"
    empty.mkdir()
    env = clean_env(PATH=str(empty), MPSYSD_BUILD=str(tmp_path / "build"))
    res = get(env)
    assert res.returncode == 1
    first = res.stderr.splitlines()[0]
    assert first == ("get_micropython: cannot provide MicroPython: make not found: "
                     "a C toolchain is needed to build MicroPython"), res.stderr
    assert "How to install MicroPython by hand" in res.stderr
    assert not (tmp_path / "build" / "bin").exists()


def test_32bit_interpreter_runs_the_project(mp):
    r = mp.run("""
        import sys, gc, asyncio, aioctl, aioservice
        print(sys.maxsize)
        async def job():
            await asyncio.sleep_ms(1)
            return 42
        async def main():
            aioctl.add(job, name="job")
            await asyncio.sleep_ms(20)
            print(aioctl.result("job"))
        asyncio.run(main())
        gc.collect()
        print(gc.mem_alloc() + gc.mem_free() <= 64 * 1024)
    """, bits=32, heap="64K")
    assert r.lines == ["2147483647", "42", "True"], r
