#!/usr/bin/env python3
"""N network namespaces, each with a loopback listener and ESTABLISHED pairs: the bench's pods.

Usage: netns-farm.py <namespaces> <pairs per namespace>
Each namespace is an unshare(CLONE_NEWNET) by a forked child, with no bind mount: it lives as
long as the child. Prints "READY <json pids>" once all are up. Then, line by line on stdin:
"churn <k>" kills the k oldest namespaces' children and makes k new ones (namespaces coming and
going, as pods do), answering "CHURNED <json pids>". stdin EOF ends it, and the children die with
it (PR_SET_PDEATHSIG). Needs root (unshare, ip link set lo up).
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
libc = ctypes.CDLL(None, use_errno=True)


def child(pairs, ready_fd):
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if libc.unshare(CLONE_NEWNET) != 0:
        os.write(ready_fd, b"E")
        os._exit(1)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 8080))
    listener.listen(pairs + 8)
    held = [listener]
    for _ in range(pairs):
        client = socket.create_connection(("127.0.0.1", 8080))
        server, _ = listener.accept()
        held += [client, server]
    os.write(ready_fd, b"R")
    signal.pause()


def start(count, pairs):
    """Forks `count` namespaces; returns their pids once all are up (exits on failure)."""
    read_fd, write_fd = os.pipe()
    pids = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            child(pairs, write_fd)
        pids.append(pid)
    os.close(write_fd)
    got = b""
    while len(got) < count:
        chunk = os.read(read_fd, count)
        if not chunk:
            break
        got += chunk
    os.close(read_fd)
    if got != b"R" * count:
        print(f"ERROR {got.count(b'R')} of {count} namespaces came up", flush=True)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        sys.exit(1)
    return pids


def stop(pids):
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        os.waitpid(pid, 0)


def main():
    count, pairs = int(sys.argv[1]), int(sys.argv[2])
    pids = start(count, pairs)
    print("READY " + json.dumps(pids), flush=True)
    for line in sys.stdin:
        words = line.split()
        if len(words) == 2 and words[0] == "churn":
            k = min(int(words[1]), len(pids))
            stop(pids[:k])
            pids = pids[k:] + start(k, pairs)
            print("CHURNED " + json.dumps(pids), flush=True)
    stop(pids)


main()
