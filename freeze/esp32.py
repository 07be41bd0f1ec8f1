# An ESP32 firmware with mpsysd's core frozen in:
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/mpsysd/freeze/esp32.py
# then flash it, and copy dist/lib/aioservices (make mpy) to the board's /lib.
include("$(PORT_DIR)/boards/manifest.py")
include("../manifest.py")
