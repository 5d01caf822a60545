"""_cli: the `hfshim` console script: executes this package's launcher in
place (same process id, arguments and exit status), so `pip install
hfshim` gives the same command as `make install`."""

import os
import sys

from . import launcher


def main():
    try:
        exe = launcher()
    except FileNotFoundError as e:
        sys.stderr.write(f"hfshim: {e}\n")
        return 2
    os.execv(exe, ["hfshim", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
