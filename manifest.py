# manifest.py: freeze mpsysd's core into MicroPython firmware (it then costs
# no heap for code). aioservices/ (discovery, the watcher and your services)
# stays on the filesystem, where services are dropped in: install it with
# `make deploy` or services.json. Include this file from a board manifest;
# freeze/ has examples for the ESP32, the pyboard and the unix port.
metadata(description="mpsysd: an asyncio service manager", version="0.1.0")

module("aioclass.py")
module("aioconfig.py")
module("aioctl.py")
module("aiohelp.py")
module("aiomanager.py")
module("aioprompt.py")
module("aioschedule.py")
module("aioservice.py")
module("aioshutdown.py")
module("aiostatus.py")
module("aiotasks.py")
module("atomicfile.py")
module("jsoncheck.py")
module("mqttlink.py")
module("mqttops.py")
module("safemode.py")
module("aiogrep.py", base_path="tools/logging")
module("aiolog.py", base_path="tools/logging")
module("filelog.py", base_path="tools/logging")
module("journal.py", base_path="tools/logging")
module("service_logger.py", base_path="tools/logging")
