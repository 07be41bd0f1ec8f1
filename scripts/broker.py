#!/usr/bin/env python3
"""A mosquitto broker for mpsysd's fleet: tests, `make bench` and `make fleet`.

Broker(folder, users) writes a password file, the fleet ACL, a CA and a
server certificate (openssl), and a config with a plain listener and a TLS
listener on free loopback ports; start() runs mosquitto (Debian's package;
ensure_mosquitto() installs it with apt-get when run as root). Host-side
script (CPython). `python3 scripts/broker.py FOLDER` runs one until Ctrl-C.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

ACL = """\
# mpsysd fleet ACL (mosquitto). A device's user name is its device id: it
# writes only under PREFIX/<its id>/ and reads only its own commands and
# those for all devices; it can neither read nor command another device.
pattern write {prefix}/%u/#
pattern read {prefix}/%u/cmd
pattern read {prefix}/all/cmd

# the operators (the mpsysd CLI): see every device, command any of them
{admins}"""


def ensure_mosquitto():
    """Path of mosquitto; installs Debian's package when root and missing."""
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.path.exists("/usr/sbin/mosquitto") else None)
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("broker: installing mosquitto (apt-get install -y mosquitto)", file=sys.stderr)
        res = subprocess.run(["apt-get", "install", "-y", "-q", "mosquitto"],
                             capture_output=True, text=True)
        if res.returncode == 0 and os.path.exists("/usr/sbin/mosquitto"):
            return "/usr/sbin/mosquitto"
    raise RuntimeError("mosquitto is not installed: apt-get install mosquitto "
                       "(Debian's package; make broker-deps does it as root)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True, capture_output=True)


def make_ca(folder, name="ca"):
    """A CA: name.key, name.crt in folder."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-keyout",
             name + ".key", "-out", name + ".crt", "-subj", "/CN=mpsysd test " + name,
             cwd=folder)
    return os.path.join(folder, name + ".crt")


def make_cert(folder, name, ca="ca", host="127.0.0.1"):
    """name.key, name.crt signed by ca, for host (as DNS name, IP and CN)."""
    ext = os.path.join(folder, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1\n" % host)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
             name + ".csr", "-subj", "/CN=" + host, cwd=folder)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
             "-CAcreateserial", "-days", "30", "-out", name + ".crt", "-extfile", ext,
             cwd=folder)
    return os.path.join(folder, name + ".crt")


class Broker:
    """mosquitto on loopback with users {name: password}; admins read and
    write everything under the prefix, the others are devices (the ACL)."""

    def __init__(self, folder, users, admins=("admin",), prefix="mpsysd", tls=True):
        self.folder = os.path.abspath(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.users, self.admins, self.prefix, self.tls = users, admins, prefix, tls
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.proc = None
        self.exe = ensure_mosquitto()
        self._write()

    def path(self, name):
        return os.path.join(self.folder, name)

    def _write(self):
        pw = self.path("passwd")
        if os.path.exists(pw):
            os.remove(pw)
        open(pw, "w").close()
        for user, password in self.users.items():
            subprocess.run(["mosquitto_passwd", "-b", pw, user, password], check=True,
                           capture_output=True)
        os.chmod(pw, 0o600)
        admins = "".join("user %s\ntopic readwrite %s/#\n\n" % (a, self.prefix)
                         for a in self.admins)
        with open(self.path("acl"), "w") as f:
            f.write(ACL.format(prefix=self.prefix, admins=admins))
        lines = ["per_listener_settings false", "allow_anonymous false",
                 "password_file " + pw, "acl_file " + self.path("acl"), "persistence false",
                 "set_tcp_nodelay true",
                 "log_dest stderr", "log_type error", "log_type warning",
                 "listener %d 127.0.0.1" % self.port]
        if os.geteuid() == 0:  # else mosquitto drops to its own user and cannot read pw
            lines.insert(0, "user root")
        if self.tls:
            if not os.path.exists(self.path("server.crt")):
                make_ca(self.folder)
                make_cert(self.folder, "server")
            lines += ["listener %d 127.0.0.1" % self.tls_port, "cafile " + self.path("ca.crt"),
                      "certfile " + self.path("server.crt"),
                      "keyfile " + self.path("server.key")]
        with open(self.path("mosquitto.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=10):
        self.proc = subprocess.Popen([self.exe, "-c", self.path("mosquitto.conf")],
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(self.path("mosquitto.log"), "a"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.path("mosquitto.log")) as f:
                    raise RuntimeError("mosquitto exited: " + f.read()[-500:])
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen on %d in %s s" % (self.port, timeout))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    b = Broker(sys.argv[1], {"admin": "admin-pw"}).start()
    print("mosquitto on 127.0.0.1:%d (TLS %d)" % (b.port, b.tls_port))
    try:
        b.proc.wait()
    except KeyboardInterrupt:
        b.stop()
