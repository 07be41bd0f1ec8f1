"""RAM on a board's terms: the 32-bit build (micropython32) in a 64 KB heap.
What fails still fails well: a service that runs out of memory is the one
that fails, and the others go on."""
import pytest

from conftest import async_script, service_file

pytestmark = pytest.mark.unix_only

HOG = """\
keep = []
while True:  # until MemoryError: a service with a leak
    for i in range(16):
        keep.append(bytearray(256))
    await asyncio.sleep_ms(0)
"""


def run_hog(mp, after):
    mp.services({"hog": service_file("hog", body=HOG), "steady": service_file("steady")},
                config={"hog": {"restart": "no"}}, watcher=True, compiled=True)
    return mp.run(async_script("""
        from heapinfo import heap
        aioservice.init(debug=False)
        aioservice.release()
        await asyncio.sleep_ms(1500)
        tasks = aioctl.group().tasks
        for name in ("hog.service", "steady.service", "watcher.service"):
            print(name, tasks[name].state)
        print(type(aioctl.result("hog.service")).__name__)
    """ + after), heap="64K", bits=32, compiled=True)


def test_a_service_out_of_memory_is_the_one_that_fails(mp):
    r = run_hog(mp, "")
    assert r.lines[-4:] == ["hog.service failed", "steady.service running",
                            "watcher.service running", "MemoryError"], r


def test_the_memory_of_a_service_that_failed_comes_back(mp):
    # The failed task's record lets go of its coroutine, whose locals (the
    # hog's list) pinned the heap: about 5 KB of 64 KB stayed free.
    r = run_hog(mp, """
        print("free >= 20 KB:", heap()[0] >= 20480)
        aioctl.delete("hog.service")
        print("after delete():", heap()[0] >= 20480)
    """)
    assert r.lines[-2:] == ["free >= 20 KB: True", "after delete(): True"], r
