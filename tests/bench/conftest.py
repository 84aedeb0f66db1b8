"""The bench's modules import one another by name, as `make bench` runs them from this folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
