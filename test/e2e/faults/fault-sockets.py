#!/usr/bin/env python3
"""Reproduces one socket fault (or its near miss) for the real-fault tests, on real sockets.

Run inside a test-made network namespace (`ip netns exec <ns>`), never on the host.
Usage: fault-sockets.py MODE HOST PORT [ARGS...]
Prints "READY" once set up, "EVENT <name> <detail>" as the fault moves on, and "DONE" at the end.
Stops when stdin closes or says "exit", and after at most MAX_SECONDS in any case. Every loop is
bounded in count and in time. Errors are one line, "ERROR <message>", and a non-zero exit.

Modes:
  listen BACKLOG               a listener that never accept()s (the SYN flood's target)
  accept-queue BACKLOG CLIENTS a listener that never accept()s, and CLIENTS connections to it: the
                               accept queue overflows, and the clients' SYN retries keep it doing so
  burst BACKLOG COUNT ROUNDS   a listener that accepts at once; ROUNDS bursts of COUNT connections
                               that complete and close, one second apart (legitimate traffic)
  close-wait START EVERY MAX   the server never closes what the clients close: START CLOSE_WAIT
                               sockets at once, then one more every EVERY seconds, up to MAX
  close-wait-spike DELAY COUNT HOLD
                               after DELAY seconds, COUNT CLOSE_WAIT sockets at once, closed by the
                               server HOLD seconds later (a spike that drains)
  time-wait COUNT EVERY        COUNT connections closed by the client first (TIME_WAIT on this
                               side); with EVERY > 0, again every EVERY seconds until EADDRNOTAVAIL
                               (the range is used up) and on, to keep it used up
"""

import errno
import select
import socket
import sys
import time

MAX_SECONDS = 240
started = time.monotonic()


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(message):
    say(f"ERROR {message}")
    sys.exit(1)


def stop_requested(timeout=0.0):
    """True once stdin closed or said exit, or the time bound passed; waits up to timeout."""
    if time.monotonic() - started > MAX_SECONDS:
        return True
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        return False
    line = sys.stdin.readline()
    return line == "" or line.strip() == "exit"


def listener(host, port, backlog):
    server = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(backlog)
    return server


def connect(host, port):
    client = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    client.settimeout(5)
    client.connect((host, port))
    return client


def accept_all(server, limit):
    """Accepts what is waiting (non-blocking), at most limit."""
    accepted = []
    server.setblocking(False)
    for _ in range(limit):
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            break
        accepted.append(conn)
    return accepted


def close_wait_pair(server, host, port):
    """One server socket in CLOSE_WAIT: the client closes, the server keeps its end."""
    client = connect(host, port)
    deadline = time.monotonic() + 5
    conns = []
    while not conns and time.monotonic() < deadline:
        conns = accept_all(server, 1)
        if not conns:
            time.sleep(0.005)
    if not conns:
        fail("a connection was not accepted within 5 s")
    client.close()
    return conns[0]


def hold(objects):
    while not stop_requested(0.5):
        pass
    for sock in objects:
        sock.close()


def mode_listen(host, port, backlog):
    server = listener(host, port, int(backlog))
    say("READY")
    hold([server])


def mode_accept_queue(host, port, backlog, clients):
    server = listener(host, port, int(backlog))
    say("READY")
    opened = []
    for _ in range(int(clients)):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setblocking(False)
        try:
            client.connect((host, port))
        except BlockingIOError:
            pass
        opened.append(client)
        time.sleep(0.02)
    say(f"EVENT connected {len(opened)}")
    hold(opened + [server])


def mode_burst(host, port, backlog, count, rounds):
    server = listener(host, port, int(backlog))
    say("READY")
    completed = 0
    for round_number in range(int(rounds)):
        if stop_requested(0 if round_number == 0 else 1.0):
            break
        clients = []
        for _ in range(int(count)):
            clients.append(connect(host, port))
            for conn in accept_all(server, 64):
                conn.close()
        for client in clients:
            client.close()
        for conn in accept_all(server, int(count)):
            conn.close()
        completed += len(clients)
        say(f"EVENT burst {round_number + 1} {completed}")
    say("DONE")
    hold([server])


def mode_close_wait(host, port, start, every, maximum):
    server = listener(host, port, 128)
    held = [close_wait_pair(server, host, port) for _ in range(int(start))]
    say("READY")
    next_at = time.monotonic() + float(every)
    while not stop_requested(0.2):
        if time.monotonic() >= next_at and len(held) < int(maximum):
            held.append(close_wait_pair(server, host, port))
            say(f"EVENT leaked {len(held)}")
            next_at += float(every)
    for sock in held + [server]:
        sock.close()


def mode_close_wait_spike(host, port, delay, count, hold_seconds):
    server = listener(host, port, 128)
    say("READY")
    if stop_requested(float(delay)):
        return
    held = [close_wait_pair(server, host, port) for _ in range(int(count))]
    say(f"EVENT spike {len(held)}")
    if stop_requested(float(hold_seconds)):
        return
    for sock in held:
        sock.close()
    say("EVENT drained 0")
    hold([server])


def mode_time_wait(host, port, count, every):
    server = listener(host, port, 4096)
    say("READY")
    made = 0
    exhausted = False
    while True:
        for _ in range(int(count)):
            try:
                client = connect(host, port)
            except OSError as error:
                if error.errno != errno.EADDRNOTAVAIL:
                    raise
                if not exhausted:
                    say(f"EVENT exhausted {made}")
                exhausted = True
                break
            # The client closes first, the server after it: TIME_WAIT stays on the client side.
            client.close()
            for conn in accept_all(server, 64):
                conn.close()
            made += 1
        for conn in accept_all(server, 4096):
            conn.close()
        if float(every) <= 0:
            break
        say(f"EVENT made {made}")
        if stop_requested(float(every)):
            return
    say(f"DONE {made}")
    hold([server])


MODES = {
    "listen": (mode_listen, 1),
    "accept-queue": (mode_accept_queue, 2),
    "burst": (mode_burst, 3),
    "close-wait": (mode_close_wait, 3),
    "close-wait-spike": (mode_close_wait_spike, 3),
    "time-wait": (mode_time_wait, 2),
}

if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[1] not in MODES:
        fail(f"usage: fault-sockets.py {{{'|'.join(MODES)}}} HOST PORT [ARGS...]")
    handler, arity = MODES[sys.argv[1]]
    if len(sys.argv) != 4 + arity:
        fail(f"{sys.argv[1]} takes {arity} arguments after HOST PORT")
    try:
        handler(sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
    except OSError as error:
        fail(f"{sys.argv[1]}: {error}")
