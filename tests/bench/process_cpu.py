"""CPU time read from /proc: a process with all its descendants, chosen processes, the machine.

A service that runs several worker processes spends its CPU in all of them, so a process is
counted with its whole tree. Figures are in seconds; /proc counts in clock ticks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def process_cpu_s(pid: int) -> float | None:
    """User plus system CPU of one live process (all its threads), or None if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: state ppid ... utime is field 14 of stat, 12th here; stime follows.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S


def _parents() -> dict[int, int]:
    parents = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                parents[int(entry.name)] = int(fields[1])
    return parents


def process_tree(root: int) -> list[int]:
    """`root` and every live process descended from it."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    tree, pending = [], [root]
    while pending:
        pid = pending.pop()
        tree.append(pid)
        pending.extend(children.get(pid, []))
    return tree


def cpu_by_pid(pids: Iterable[int]) -> dict[int, float]:
    found = {pid: process_cpu_s(pid) for pid in pids}
    return {pid: cpu for pid, cpu in found.items() if cpu is not None}


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU spent between two readings; a process that appeared in between counts from zero.
    One that ended in between is lost (its parent collects it only once it is reaped)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def command_line(pid: int) -> str | None:
    """How `pid` was started, its arguments joined by spaces; None if it is not ours to see."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_local_process(pid: int, name_part: str) -> bool:
    """Whether `pid` runs on this machine as a program whose command line holds `name_part`."""
    return name_part in (command_line(pid) or "")


@dataclass(frozen=True)
class MachineTicks:
    busy: int
    total: int

    @classmethod
    def now(cls) -> MachineTicks:
        """All cores' ticks since boot from /proc/stat; idle and iowait are not busy."""
        first = (PROC / "stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(value) for value in first[:8]]
        idle = ticks[3] + ticks[4]
        return cls(busy=sum(ticks) - idle, total=sum(ticks))

    def busy_fraction_since(self, earlier: MachineTicks) -> float:
        total = self.total - earlier.total
        return (self.busy - earlier.busy) / total if total else 0.0
