# heapinfo: (free bytes, largest free block) of the heap, on any port. The
# largest block is found by allocating: a bytearray of n bytes needs one
# contiguous run of n bytes, so bisect n (to 16 bytes, a 32-bit GC block).
import gc


def heap():
    gc.collect()
    free = gc.mem_free()
    lo, hi = 0, free + 1  # lo fits, hi does not
    while hi - lo > 16:
        mid = (lo + hi) // 2
        try:
            bytearray(mid)  # dropped at once; the next collection frees it
            lo = mid
        except MemoryError:
            hi = mid
    gc.collect()
    return free, lo
