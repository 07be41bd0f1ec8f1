# atomicfile: write a file so that a power cut leaves the old version or the
# new one, never half of one: a temp file, then a rename over the old file.


def write(path, text):
    import os

    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    try:
        os.rename(tmp, path)
    except OSError:  # FAT cannot rename over a file: remove it first
        try:
            os.remove(path)
        except OSError:
            pass
        os.rename(tmp, path)
