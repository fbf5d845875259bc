"""Holds a known set of TCP sockets on loopback for the cgroup owner tests.

Usage: python3 cgroup_sockets.py '<json spec>'; prints "READY <json>" once every socket is in
place, then waits for EOF on stdin (or "exit") and ends, closing everything.

Spec keys (all optional):
  listen      port to listen on (127.0.0.1), 0 for none
  backlog     listen backlog (default 128)
  accept      true (default): an accept thread takes every connection and holds it, never
              closing it; false: connections stay in the accept queue
  pairs       connections to our own listener, held open: 2 ESTABLISHED sockets each
              (with accept false, the server side waits in the accept queue)
  close_wait  connections to our own listener whose client side is then shut down for writing:
              the server side goes CLOSE_WAIT (its owner never closes it), the client FIN_WAIT2
  connect     [{"port": p, "count": n, "shutdown": bool}]: connections to another process's
              listener; with shutdown, that listener's owner is left holding CLOSE_WAIT sockets

Every socket is created by this process, so the kernel tags all of them with its cgroup (accepted
sockets inherit the listener's). Bounded: gives up with "ERROR ..." after 10 s.
"""
import json
import socket
import sys
import threading
import time

spec = json.loads(sys.argv[1])
held = []
accepted = []
lock = threading.Lock()


def fail(message):
    print("ERROR " + message, flush=True)
    sys.exit(1)


def accept_forever(listener):
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with lock:
            accepted.append(conn)


def connect(port):
    s = socket.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    held.append(s)
    return s


listener = None
port = spec.get("listen", 0)
if port:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(spec.get("backlog", 128))
    if spec.get("accept", True):
        threading.Thread(target=accept_forever, args=(listener,), daemon=True).start()

pairs = spec.get("pairs", 0)
close_wait = spec.get("close_wait", 0)
if (pairs or close_wait) and listener is None:
    fail("pairs and close_wait need a listener")
for _ in range(pairs):
    connect(port)
closing = [connect(port) for _ in range(close_wait)]
outgoing = []
for target in spec.get("connect", []):
    for _ in range(target["count"]):
        s = connect(target["port"])
        if target.get("shutdown"):
            outgoing.append(s)

deadline = time.monotonic() + 10
if spec.get("accept", True) and listener is not None:
    while True:
        with lock:
            if len(accepted) >= pairs + close_wait:
                break
        if time.monotonic() > deadline:
            fail("connections not accepted within 10 s")
        time.sleep(0.01)

for s in closing + outgoing:
    s.shutdown(socket.SHUT_WR)

print("READY " + json.dumps({"listen": port}), flush=True)
for line in sys.stdin:
    if line.strip() == "exit":
        break
