#!/usr/bin/env python3
"""`make fleet`: mosquitto with the fleet ACL, three simulated devices (the
app on the unix port with the mqtt service) and `mpsysd top`. Ctrl-C (or q
in top) stops all of it. Host-side script (CPython)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests")]
FOLDER = os.path.join(ROOT, ".build", "fleet")


def main():
    import compile_mpy
    from broker import Broker
    from fleet import FAILS, TICKER, Device

    compile_mpy.compile_to(os.path.join(ROOT, ".build", "mpy"))
    names = ["lab-1", "lab-2", "lab-3"]
    users = {"admin": "admin-pw"}
    users.update({n: "pw-" + n for n in names})
    b = Broker(os.path.join(FOLDER, "broker"), users, tls=False).start()
    devs = []
    try:
        for i, n in enumerate(names):
            svcs = {"ticker": TICKER, "fails": FAILS} if i == 2 else {"ticker": TICKER}
            devs.append(Device(os.path.join(FOLDER, n), b, n, services=svcs,
                               keepalive=30).start())
        print("mosquitto on 127.0.0.1:%d; devices %s; user admin, password admin-pw"
              % (b.port, ", ".join(names)))
        env = dict(os.environ, MPSYSD_HOST="127.0.0.1", MPSYSD_PORT=str(b.port),
                   MPSYSD_USER="admin", MPSYSD_PASSWORD="admin-pw",
                   PYTHONPATH=os.path.join(ROOT, "host"))
        subprocess.run([sys.executable, "-m", "mpsysd_cli", "top"], env=env)
    except KeyboardInterrupt:
        pass
    finally:
        for d in devs:
            d.stop()
        b.stop()


if __name__ == "__main__":
    main()
