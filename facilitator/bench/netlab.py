"""A network lab: each participant in its own network namespace, behind a shaped veth link.

Run it as root inside a private network namespace (``make bench`` and ``make test`` run under
``unshare -n``): the server stays in that namespace, and every participant gets a child
namespace held by a ``sleep`` process (unnamed, so nothing is left in /run/netns; the holder
dies with the process that made it) and a veth pair to the server's side, with private
addresses (10.77.N.1 for the server, 10.77.N.2 for the participant) that are routed nowhere
else. Links are shaped at run time:

- bandwidth with ``tc tbf`` (downlink: the server-side veth's egress; uplink: the
  participant-side veth's egress);
- loss with ``iptables -m statistic --mode random`` in the participant's namespace (UDP only,
  so the scenarios measure media, not WebSocket reconnections);
- a link cut (everything dropped both ways, TCP too) and restored.

There is no delay: this kernel has no ``sch_netem`` and the NFQUEUE bindings do not install.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

NET = "10.77"
"""The lab's private /16: one /24 per participant, only on the lab's veths."""
SERVER_PREFIX = "nls"
PEER_PREFIX = "nlp"
COMMENT = "netlab"
"""Marks the lab's iptables rules in the server's namespace (swept at start, removed at end)."""
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
TOOLS = ("ip", "tc", "iptables", "nsenter", "unshare")
PATHS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")


class LabError(RuntimeError):
    """A lab command failed."""


def tool(name: str) -> str | None:
    """The path of a system tool, also looking in the sbin folders a user's PATH may lack."""
    found = shutil.which(name)
    if found:
        return found
    for folder in PATHS:
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    return None


def unavailable() -> str | None:
    """Why the lab cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "the network lab needs root (make test and make bench run it under unshare -n)"
    missing = [name for name in TOOLS if tool(name) is None]
    if missing:
        return f"the network lab needs {', '.join(missing)} (make test-tools installs them)"
    return None


def run(*args: str, check: bool = True) -> str:
    """Run one system command; its output (LabError with its message when it fails)."""
    path = tool(args[0]) or args[0]
    done = subprocess.run([path, *args[1:]], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def enter(pid: int) -> None:
    """Move this process (call it before any thread or socket is made) into ``pid``'s netns."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/proc/{pid}/ns/net", "rb") as ns:
        if libc.setns(ns.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns failed")


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Link:
    """One participant's namespace and its veth link to the server."""

    index: int
    holder: subprocess.Popen[bytes]
    down_kbit: int | None = None
    up_kbit: int | None = None
    down_loss: float = 0.0
    up_loss: float = 0.0
    cut: bool = False

    @property
    def pid(self) -> int:
        """The holder's pid: ``nsenter -t PID -n`` (or ``enter(PID)``) joins the namespace."""
        return self.holder.pid

    @property
    def server_if(self) -> str:
        """The server-side veth."""
        return f"{SERVER_PREFIX}{self.index}"

    @property
    def peer_if(self) -> str:
        """The participant-side veth."""
        return f"{PEER_PREFIX}{self.index}"

    @property
    def server_address(self) -> str:
        """The server's address on this link (the participant reaches the server here)."""
        return f"{NET}.{self.index}.1"

    @property
    def address(self) -> str:
        """The participant's address."""
        return f"{NET}.{self.index}.2"

    def inside(self, *args: str, check: bool = True) -> str:
        """Run a command in the participant's namespace."""
        return run("nsenter", "-t", str(self.pid), "-n", *args, check=check)

    def limit(self, down_kbit: int | None = None, up_kbit: int | None = None) -> None:
        """Cap the link's bandwidth each way (None: no cap). Changes take effect at once."""
        _tbf(self.server_if, down_kbit, run)
        _tbf(self.peer_if, up_kbit, self.inside)
        self.down_kbit, self.up_kbit = down_kbit, up_kbit

    def lose(self, down: float = 0.0, up: float = 0.0) -> None:
        """Drop this fraction of UDP packets at random each way (0: none)."""
        self._filter()
        self.down_loss, self.up_loss = down, up
        self._apply()

    def set_cut(self, cut: bool) -> None:
        """Cut the link (every packet dropped both ways) or restore it."""
        self._filter()
        self.cut = cut
        self._apply()

    def _filter(self) -> None:
        self.inside("iptables", "-F", "INPUT")
        self.inside("iptables", "-F", "OUTPUT")

    def _apply(self) -> None:
        if self.cut:
            self.inside("iptables", "-A", "INPUT", "-i", self.peer_if, "-j", "DROP")
            self.inside("iptables", "-A", "OUTPUT", "-o", self.peer_if, "-j", "DROP")
            return
        for chain, flag, share in (("INPUT", "-i", self.down_loss), ("OUTPUT", "-o", self.up_loss)):
            if share > 0:
                self.inside(
                    "iptables", "-A", chain, flag, self.peer_if, "-p", "udp",
                    "-m", "statistic", "--mode", "random", "--probability", f"{share:.4f}",
                    "-j", "DROP",
                )  # fmt: skip

    def received_bytes(self) -> int:
        """Bytes that reached the participant (its veth's receive counter)."""
        return _dev_bytes(Path(f"/proc/{self.pid}/net/dev"), self.peer_if)[0]

    def sent_bytes(self) -> int:
        """Bytes the participant sent into its link (before any uplink cap drops them)."""
        return _dev_bytes(Path(f"/proc/{self.pid}/net/dev"), self.peer_if)[1]


def _tbf(dev: str, kbit: int | None, runner: Callable[..., str]) -> None:
    runner("tc", "qdisc", "del", "dev", dev, "root", check=False)
    if kbit is not None:
        # A burst of ~20 ms at the rate (at least a few packets), a 200 ms queue: a home router.
        burst = max(6000, kbit * 1000 // 8 // 50)
        runner("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", f"{kbit}kbit",
               "burst", str(burst), "latency", "200ms")  # fmt: skip


def _dev_bytes(path: Path, dev: str) -> tuple[int, int]:
    for line in path.read_text().splitlines():
        name, _, counters = line.partition(":")
        if name.strip() == dev:
            fields = counters.split()
            return int(fields[0]), int(fields[8])
    raise LabError(f"no device {dev} in {path}")


@dataclass
class NetLab:
    """Participant namespaces and links; ``close`` (or leaving the ``with``) removes them all."""

    links: list[Link] = field(default_factory=list)

    def __enter__(self) -> NetLab:
        self.sweep()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self) -> Link:
        """A new participant namespace with a link to this one; returns the link."""
        index = len(self.links) + 1
        holder = subprocess.Popen(
            [tool("unshare") or "unshare", "-n", "sleep", "infinity"],
            preexec_fn=_die_with_parent,
        )
        link = Link(index, holder)
        self.links.append(link)
        _wait_for_namespace(holder.pid)
        run("ip", "link", "add", link.server_if, "type", "veth", "peer", "name", link.peer_if)
        run("ip", "link", "set", link.peer_if, "netns", str(link.pid))
        run("ip", "addr", "add", f"{link.server_address}/24", "dev", link.server_if)
        run("ip", "link", "set", link.server_if, "up")
        link.inside("ip", "addr", "add", f"{link.address}/24", "dev", link.peer_if)
        link.inside("ip", "link", "set", link.peer_if, "up")
        link.inside("ip", "link", "set", "lo", "up")
        # Count what the server offers this participant, before a downlink cap drops any of it.
        run("iptables", "-A", "OUTPUT", "-o", link.server_if, "-m", "comment",
            "--comment", f"{COMMENT}-{index}")  # fmt: skip
        return link

    def offered_bytes(self) -> dict[int, int]:
        """Bytes the server sent into each link (by link index), from the counting rules."""
        out = run("iptables", "-L", "OUTPUT", "-v", "-x", "-n")
        counts = {}
        for match in re.finditer(rf"^\s*\d+\s+(\d+)\s.*/\* {COMMENT}-(\d+) \*/", out, re.M):
            counts[int(match.group(2))] = int(match.group(1))
        return counts

    def close(self) -> None:
        """Remove every link, namespace and rule of the lab (safe to call twice)."""
        for link in self.links:
            with contextlib.suppress(ProcessLookupError):
                link.holder.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                link.holder.wait(5)
        self.links.clear()
        self.sweep()

    @staticmethod
    def sweep() -> None:
        """Remove lab veths and rules left in this namespace (by a run that died)."""
        for name in leftover_links():
            run("ip", "link", "del", name, check=False)
        for rule in leftover_rules():
            run("iptables", *rule.replace("-A ", "-D ", 1).split(), check=False)


def _wait_for_namespace(pid: int) -> None:
    """Wait until the holder has its own network namespace (unshare has run)."""
    own = os.readlink("/proc/self/ns/net")
    for _ in range(200):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/ns/net") != own:
                return
        time.sleep(0.01)
    raise LabError(f"process {pid} did not enter a new network namespace")


def leftover_links() -> list[str]:
    """Lab veths in this namespace."""
    names = [name for _, name in socket.if_nameindex()]
    return [n for n in names if n.startswith((SERVER_PREFIX, PEER_PREFIX))]


def leftover_rules() -> list[str]:
    """Lab iptables rules in this namespace (as ``iptables -S`` prints them)."""
    if tool("iptables") is None:
        return []
    rules = run("iptables", "-S", check=False).splitlines()
    return [r for r in rules if f"--comment {COMMENT}-" in r]
