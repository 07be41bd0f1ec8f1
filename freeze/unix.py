# The unix port with mpsysd's core frozen in (as `make firmware` builds it):
#   make -C ports/unix FROZEN_MANIFEST=/path/to/mpsysd/freeze/unix.py
include("$(MPY_DIR)/extmod/asyncio")
include("../manifest.py")
