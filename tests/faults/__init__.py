"""The fault suite: `python -m tests.faults --mode quick|full` (see run.py)."""
