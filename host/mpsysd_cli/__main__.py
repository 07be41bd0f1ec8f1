import sys

from mpsysd_cli.cli import main

sys.exit(main())
