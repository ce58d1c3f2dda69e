#!/usr/bin/env python3
"""partition.py: a TCP relay that can cut one client off from a server, as
a network partition does, for tests/kube/shard.sh.

Usage: partition.py TARGET_PORT PORT_FILE

Relays 127.0.0.1:<free port> to 127.0.0.1:TARGET_PORT (TLS passes through
untouched) and writes the port it listens on to PORT_FILE. SIGUSR1 cuts:
from then on nothing crosses, either way, and new connections are taken
but go nowhere, as packets into a partition do; what was sent meanwhile is
dropped, never delivered late. SIGUSR2 heals: the connections of the cut
are closed, so the client opens new ones, which relay again.
"""
import os
import selectors
import signal
import socket
import sys

cut = False
heal = False  # asked by SIGUSR2, done by the loop


def on_cut(signum, frame):
    global cut
    cut = True


def on_heal(signum, frame):
    global heal
    heal = True


def close(sel, pair, conns):
    for s in pair:
        if s:
            sel.unregister(s)
            s.close()
    conns.remove(pair)


def main():
    global cut, heal
    target = int(sys.argv[1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    tmp = sys.argv[2] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % listener.getsockname()[1])
    os.rename(tmp, sys.argv[2])
    signal.signal(signal.SIGUSR1, on_cut)
    signal.signal(signal.SIGUSR2, on_heal)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    conns = []  # [client, upstream or None]
    while True:
        if heal:
            for pair in list(conns):
                close(sel, pair, conns)
            cut = heal = False
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            if s is listener:
                client, _ = listener.accept()
                upstream = None
                if not cut:
                    try:
                        upstream = socket.create_connection(("127.0.0.1", target))
                    except OSError:  # the server is away: so is the connection
                        client.close()
                        continue
                pair = [client, upstream]
                conns.append(pair)
                for o in pair:
                    if o:
                        sel.register(o, selectors.EVENT_READ, pair)
                continue
            pair = key.data
            if pair not in conns:
                continue  # closed earlier in this round
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                close(sel, pair, conns)
            elif not cut and pair[1]:
                try:
                    (pair[1] if s is pair[0] else pair[0]).sendall(data)
                except OSError:
                    close(sel, pair, conns)
            # else: into the partition, lost


main()
