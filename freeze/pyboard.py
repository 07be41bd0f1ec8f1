# A pyboard (stm32) firmware with mpsysd's core frozen in:
#   cd micropython/ports/stm32
#   make BOARD=PYBV11 FROZEN_MANIFEST=/path/to/mpsysd/freeze/pyboard.py
# then flash it, and copy dist/lib/aioservices (make mpy) to the board's /lib.
include("$(PORT_DIR)/boards/manifest.py")
include("../manifest.py")
