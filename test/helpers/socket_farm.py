#!/usr/bin/env python3
"""Opens real TCP sockets in chosen states, inside the network namespace it runs in.

Used by the tests (run with `ip netns exec <ns>`), never on the host: it installs iptables
rules to hold sockets in SYN_SENT and SYN_RECV. Python, not Node, because a test needs a
listener that never calls accept() (a real accept-queue backlog) and exact socket options.

Usage: socket_farm.py '<json spec>'
Prints one line "READY <json>" once every socket has reached its state, then holds them until
stdin closes or says "exit". Every wait is bounded; on a timeout it exits non-zero.

Spec:
  {"listeners": [{"name": "web", "host": "127.0.0.1", "port": 8080, "backlog": 128}],
   "groups": [{"kind": "established", "to": "web", "count": 5, "keepalive": true,
               "unread_bytes": 100, "owner": "worker-a"}, ...]}
Kinds:
  established  both ends stay open (client and accepted server socket)
  close_wait   the client closes, the server never does: server CLOSE_WAIT, client FIN_WAIT2
  time_wait    the client closes, then the server: client TIME_WAIT
  backlog      connect to a listener that is never accept()ed: fills its accept queue
  syn_recv     the listener's SYN-ACKs are dropped: server SYN_RECV, client SYN_SENT
  syn_sent     SYNs to host:port are dropped: client SYN_SENT
  short_lived  like time_wait, but the clients bind to "source" (narrow ephemeral range tests)
  half_open    established with keepalive, then every packet on the port is dropped: the
               keepalive probes go unanswered (probes > 0), as when a peer vanishes
Options: "keepalive" arms SO_KEEPALIVE (with "keepidle" seconds) on both ends; "unread_bytes"
sends that many bytes to the client, which never reads them; "owner" runs the group in a forked
child process whose name (comm) is the owner.
"""

import ctypes
import json
import os
import resource
import select
import socket
import subprocess
import sys
import time

DEADLINE_SECONDS = 20


def fail(message):
    sys.stdout.write(f"ERROR {message}\n")
    sys.stdout.flush()
    sys.exit(1)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def iptables(host, *args):
    tool = "ip6tables" if ":" in host else "iptables"
    subprocess.run([tool, "-w", *args], check=True)


def tcp_states(port_filter):
    """Counts of (state) for sockets matching an ss filter, read from ss in this namespace."""
    out = subprocess.run(["ss", "-tanH", port_filter], check=True, capture_output=True, text=True).stdout
    counts = {}
    for line in out.splitlines():
        state = line.split()[0]
        counts[state] = counts.get(state, 0) + 1
    return counts


def wait_for(predicate, what):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    fail(f"timed out waiting for {what}")


def set_name(name):
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NAME = 15
    libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)


class Farm:
    def __init__(self, spec):
        self.spec = spec
        self.listeners = {}
        self.held = []

    def open_listeners(self):
        for item in self.spec.get("listeners", []):
            host = item.get("host", "127.0.0.1")
            sock = socket.socket(family_of(host), socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if ":" in host:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, item["port"]))
            sock.listen(item.get("backlog", 128))
            self.listeners[item["name"]] = (sock, host, item["port"])
            self.held.append(sock)

    def connect(self, host, port, group, blocking=True):
        client = socket.socket(family_of(host), socket.SOCK_STREAM)
        if group.get("keepalive"):
            self.keepalive(client, group)
        if "source" in group:
            client.bind((group["source"], 0))
        if blocking:
            client.settimeout(5)
            client.connect((host, port))
        else:
            client.setblocking(False)
            client.connect_ex((host, port))
        self.held.append(client)
        return client

    def keepalive(self, sock, group):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, group.get("keepidle", 600))

    def accept(self, listener):
        sock = listener[0]
        ready, _, _ = select.select([sock], [], [], 5)
        if not ready:
            fail(f"nothing to accept on port {listener[2]}")
        server, _ = sock.accept()
        self.held.append(server)
        return server

    def run_group(self, group):
        kind = group["kind"]
        count = group.get("count", 1)
        if kind == "syn_sent":
            host, port = group["host"], group["port"]
            iptables(host, "-A", "INPUT", "-p", "tcp", "--dport", str(port), "--syn", "-j", "DROP")
            for _ in range(count):
                self.connect(host, port, group, blocking=False)
            return
        listener = self.listeners[group["to"]]
        _, host, port = listener
        if kind == "syn_recv":
            # Dropped on the way in, not out: a SYN-ACK that fails to send (OUTPUT drop returns
            # EPERM) makes the kernel drop the request socket at its first retransmit.
            iptables(host, "-A", "INPUT", "-p", "tcp", "--sport", str(port), "--tcp-flags", "SYN,ACK", "SYN,ACK", "-j", "DROP")
            for _ in range(count):
                self.connect(host, port, group, blocking=False)
            return
        if kind == "half_open":
            group = {**group, "keepalive": True}
        for _ in range(count):
            client = self.connect(host, port, group)
            if kind == "backlog":
                continue
            server = self.accept(listener)
            if group.get("keepalive"):
                self.keepalive(server, group)
            if group.get("unread_bytes"):
                server.sendall(b"x" * group["unread_bytes"])
            if kind == "established":
                continue
            if kind == "half_open":
                self.keepalive(server, group)
                continue
            client.close()  # FIN from the client
            self.held.remove(client)
            if kind in ("time_wait", "short_lived"):
                server.settimeout(5)
                if server.recv(1) != b"":
                    fail("expected EOF on the server side")
                server.close()
                self.held.remove(server)
            # close_wait: the server never closes.
        if kind == "half_open":
            iptables(host, "-A", "INPUT", "-p", "tcp", "--dport", str(port), "-j", "DROP")
            iptables(host, "-A", "INPUT", "-p", "tcp", "--sport", str(port), "-j", "DROP")

    def run(self):
        self.open_listeners()
        children = []
        for group in self.spec.get("groups", []):
            owner = group.get("owner")
            if owner is None:
                self.run_group(group)
                continue
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                set_name(owner)
                self.held = []
                self.run_group(group)
                os.write(write_end, b"ok")
                # Hold the sockets until the parent goes away (stdin of the parent closes).
                select.select([sys.stdin], [], [], 600)
                os._exit(0)
            os.close(write_end)
            ready, _, _ = select.select([read_end], [], [], DEADLINE_SECONDS)
            if not ready or os.read(read_end, 2) != b"ok":
                fail(f"child for {owner} did not report")
            children.append(pid)
        expected = self.spec.get("expect")
        if expected:
            for port_filter, states in expected.items():
                wait_for(lambda: all(tcp_states(port_filter).get(s, 0) == n for s, n in states.items()), f"{port_filter} to reach {states}")
        sys.stdout.write("READY " + json.dumps({"pid": os.getpid(), "children": children}) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            if line.strip() == "exit":
                break
        for pid in children:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    # Larger farms need more descriptors than the default soft limit.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    Farm(json.loads(sys.argv[1])).run()
