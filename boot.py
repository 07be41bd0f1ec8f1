# boot.py: runs first on a board. mpsysd needs nothing here (main.py starts
# the app); board setup such as a UART REPL belongs in this file.
import gc

gc.collect()
