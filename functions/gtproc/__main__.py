import sys

from gtproc.cli.main import main

sys.exit(main())
