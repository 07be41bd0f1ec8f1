"""The README's examples run as written."""
import os
import re

from conftest import ROOT


def blocks(lang):
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"```%s\n(.*?)```" % lang, f.read(), re.S)


def test_aioctl_quick_start(mp):
    quick = [b for b in blocks("python") if "aioctl.add(blink" in b][0]
    r = mp.run(quick)
    assert r.rc == 0, r
    assert re.search(r"^\S+ answer: status: done @ .* --> result: 42$", r.out, re.M), r
    assert re.search(r"^\S+ blink: status: running since", r.out, re.M), r
    assert r.lines[-1] == "stopped cleanly 42"


def test_service_example_and_config(mp):
    service = [b for b in blocks("python") if "class HelloService" in b][0]
    config = blocks("json")[0]
    mp.services({"hello": service}, config=config.replace('"args": [2]', '"args": [0.05]'))
    r = mp.run_async("""
        import aiolog
        log = aiolog.getLogger("app")
        aioservice.init(debug=False, log=log)
        await asyncio.sleep_ms(120)
        aioctl.stop("hello.service")
        await asyncio.sleep_ms(10)
        print(aioctl.result("hello.service"))
    """)
    assert r.rc == 0, r
    # the other entries name services that are not there: reported, not fatal
    assert "[hello.service] hello" in r.out
    assert r.lines[-1] == "bye"
