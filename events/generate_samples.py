#!/usr/bin/env python3
"""Entry point of the sample generator (the `samples` package next to it): see samples/generate.py.

python events/generate_samples.py            # (re)write events/jobs, events/triggers, events/README.md
python events/generate_samples.py --check    # regenerate into a temp dir, compare with what is on disk
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as `python events/generate_samples.py` does anyway

from samples.generate import main

if __name__ == "__main__":
    sys.exit(main())
