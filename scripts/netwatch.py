"""What a command sends off the machine, read from `strace -f -yy`: connections, datagrams, DNS queries.

    python scripts/netwatch.py -- COMMAND [ARGS...]

Prints one line per destination and exits 1 when anything left the machine (a TCP
connection or a datagram to an address other than loopback, any DNS query). A UDP
`connect()` sends nothing by itself (it only asks the kernel for a route): Chromium does
it to 2001:4860:4860::8888 port 443 to learn whether IPv6 is routable. Those are counted
apart; a datagram sent on such a socket counts as leaving.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SYSCALLS = "connect,sendto,sendmsg,sendmmsg,write,writev"
# `11852 sendto(26<UDP:[0.0.0.0:25479]>, …` or `… 18<TCP:[10.0.0.2:4444->1.2.3.4:443]>` (strace -yy).
SOCKET = re.compile(r"^(\d+)\s+(\w+)\((\d+)<(TCP|UDP|TCPv6|UDPv6):\[([^\]]*)\]>")
# The address a connect() or sendto() names.
ADDRESS = re.compile(r'sin6?_port=htons\((\d+)\).*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')
PEER = re.compile(r"->\[?([0-9a-fA-F.:]+?)\]?:(\d+)$")


def loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1", "0.0.0.0", "::")


@dataclass
class NetUse:
    """Destinations reached, as (kind, address, port) → count; kind is tcp, udp or dns."""

    left: Counter = field(default_factory=Counter)
    probes: Counter = field(default_factory=Counter)

    def dns(self) -> int:
        return sum(n for (kind, _, _), n in self.left.items() if kind == "dns")

    def lines(self) -> list[str]:
        out = [f"{n} × {kind} to {addr} port {port}" for (kind, addr, port), n in sorted(self.left.items())]
        out += [f"{n} × UDP connect() to {addr} port {port} (sends nothing by itself)"
                for (_, addr, port), n in sorted(self.probes.items())]
        return out


def parse(log: str) -> NetUse:
    """Every syscall on an IP socket whose other end is not loopback. A send on a connected
    socket names no address, and strace may show only its local end: the peer is the one
    the last connect() on that descriptor named (same thread first, then any)."""
    use = NetUse()
    peers: dict[tuple[str, str] | str, tuple[str, str]] = {}
    for line in log.splitlines():
        m = SOCKET.match(line)
        if not m:
            continue
        tid, call, fd, proto, ends = m.groups()
        where = ADDRESS.search(line)
        peer = PEER.search(ends)
        if where:
            target = (where.group(2) or where.group(3), where.group(1))
        elif peer:
            target = (peer.group(1), peer.group(2))
        else:
            target = peers.get((tid, fd)) or peers.get(fd)
        if not target:
            continue
        if call == "connect":
            peers[(tid, fd)] = peers[fd] = target
        if loopback(target[0]):
            continue
        kind = "dns" if target[1] == "53" else proto.rstrip("v6").lower()
        if call == "connect" and proto.startswith("UDP"):
            use.probes[(kind, *target)] += 1  # a datagram sent on it later counts as a send
        else:
            use.left[(kind, *target)] += 1
    return use


def traced(command: list[str], **kwargs) -> tuple[subprocess.CompletedProcess, NetUse]:
    """Run `command` under strace; its result and what it sent off the machine."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "strace.log"
        proc = subprocess.run(["strace", "-f", "-qq", "-yy", "-e", f"trace={SYSCALLS}", "-e", "signal=none",
                               "-o", str(log), *command], **kwargs)
        return proc, parse(log.read_text(encoding="utf-8", errors="replace"))


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    proc, use = traced(argv)
    for line in use.lines():
        print(line, file=sys.stderr)
    print(f"netwatch: {sum(use.left.values())} connection(s) or datagram(s) off the machine, "
          f"{use.dns()} DNS, {sum(use.probes.values())} UDP connect(s); the command exited {proc.returncode}",
          file=sys.stderr)
    return 1 if use.left else proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
