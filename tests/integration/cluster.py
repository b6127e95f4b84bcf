"""Several facilitator nodes on one PostgreSQL database, behind HAProxy, all on 127.0.0.1.

HAProxy runs ``deploy/haproxy/haproxy.cfg`` itself, with only its addresses rewritten to this
machine's loopback ports, so the shipped configuration is the one tested.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from .harness import ROOT, SHARED_FLAGS, ServerProcess

HAPROXY_CFG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"


def haproxy_binary() -> str:
    """The haproxy program, or skip (``make test-tools`` installs Debian's)."""
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        pytest.skip("HAProxy is not installed (make test-tools: apt-get install haproxy)")
    return found


def free_port() -> int:
    """A port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def haproxy_config(listen: int, nodes: dict[str, int]) -> str:
    """The shipped configuration with a loopback bind and these nodes as its servers."""
    text = HAPROXY_CFG.read_text()
    text = re.sub(r"(?m)^(\s*)bind .*$", rf"\1bind 127.0.0.1:{listen}", text)
    servers = "\n".join(f"    server {name} 127.0.0.1:{port} check" for name, port in nodes.items())
    text = re.sub(r"(?m)^    server node1 .*\n    server node2 .*$", servers, text)
    assert text.count("127.0.0.1:") == 1 + 2 * len(nodes), text
    return text


def get(url: str, timeout: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """GET a URL: status, headers (names in lower case, as HAProxy sends them) and body."""
    try:
        with urlopen(url, timeout=timeout) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, headers, response.read()
    except HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


@dataclass
class Cluster:
    """Nodes by name, HAProxy in front of them, and where their logs go."""

    folder: Path
    database: str
    nodes: dict[str, ServerProcess] = field(default_factory=dict)
    proxy: subprocess.Popen[bytes] | None = None
    proxy_port: int = 0

    @property
    def base(self) -> str:
        """HAProxy's address: the one every browser uses."""
        return f"http://127.0.0.1:{self.proxy_port}"

    def start_node(self, name: str) -> ServerProcess:
        """Start one node with its own --node-url on a port chosen now."""
        if not self.proxy_port:
            self.proxy_port = free_port()
        taken = {self.proxy_port, *(n.port for n in self.nodes.values())}
        port = free_port()
        while port in taken:  # a port just closed may be handed out again
            port = free_port()
        node_url = f"http://127.0.0.1:{port}"
        extra = ["--database", self.database, "--node-url", node_url, *SHARED_FLAGS]
        extra += ["--public-url", self.base]  # links lead to the proxy
        extra += ["--ice-address", "127.0.0.1"]
        node = ServerProcess(
            data=self.folder / name, log_path=self.folder / f"{name}.log", agenda="", extra=extra
        )
        node.log_path.touch()
        node.start(port=port)
        # It prints the public URL (the proxy's): keep its own address.
        node.port, node.base = port, node_url
        self.nodes[name] = node
        return node

    def restart_node(self, name: str) -> None:
        """Start a node that was killed again, with the same address and --node-url."""
        node = self.nodes[name]
        port, base = node.port, node.base
        node.start(port=port)
        node.port, node.base = port, base

    def start_proxy(self, haproxy: str) -> None:
        """Start HAProxy in the foreground and wait until it sees every node up."""
        config = self.folder / "haproxy.cfg"
        ports = {name: node.port for name, node in self.nodes.items()}
        config.write_text(haproxy_config(self.proxy_port, ports))
        log = (self.folder / "haproxy.log").open("ab")
        self.proxy = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if get(f"{self.base}/healthz", timeout=2)[0] == 200:
                    time.sleep(3.5)  # the health checks' "rise": every node counts as up
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("HAProxy did not start:\n" + (self.folder / "haproxy.log").read_text())

    def node_named(self, node_url: str) -> str:
        """Which node has this --node-url."""
        return next(name for name, node in self.nodes.items() if node.base == node_url)

    def create_meeting(self) -> dict[str, str]:
        """Create a network-night meeting through the proxy; its links."""
        body = json.dumps({"agenda": "network-night"}).encode()
        request = Request(f"{self.base}/api/meetings", body, {"Content-Type": "application/json"})
        with urlopen(request, timeout=20) as response:
            links: dict[str, str] = json.loads(response.read())
        return links

    def owner_of(self, meeting_id: str) -> str:
        """The node that answers the meeting's page through the proxy."""
        status, headers, _ = get(f"{self.base}/m/{meeting_id}")
        assert status == 200, status
        return self.node_named(headers["x-facilitator-node"])

    def stop(self) -> None:
        """Stop HAProxy and every node."""
        if self.proxy is not None and self.proxy.poll() is None:
            self.proxy.kill()
            self.proxy.wait(10)
        for node in self.nodes.values():
            if node.proc is not None and node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait(10)
