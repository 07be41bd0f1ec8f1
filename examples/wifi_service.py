# wifi: a core service (runs once at boot). On a board it would bring up the
# network; here it pretends to, taking its credentials from services.config,
# where the password comes from .env as "${WIFI_PSK}".
import asyncio

import aioctl
from aioclass import Service


class WifiService(Service):
    def __init__(self, name):
        super().__init__(name)
        self.info = "Network setup (simulated on the unix port)"
        self.type = "core.service"
        self.docs = "README.md#services"
        self.kwargs = {"ssid": "mpsysd", "psk": ""}

    @aioctl.aiotask
    async def task(self, ssid, psk, log=None):
        await asyncio.sleep_ms(300)  # associating...
        if not psk:
            raise ValueError("no password for %s: set WIFI_PSK in .env" % ssid)
        return "WLAN: %s connected" % ssid


service = WifiService("wifi")
