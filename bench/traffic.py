#!/usr/bin/env python3
"""Real kernel traffic for the peers benchmark (stdlib only), run inside network namespaces.

  traffic.py serve ADDR4 ADDR6              TCP echo-and-close on :7000, bulk sink on :7001,
                                            UDP echo on :7002, on both addresses, until killed
  traffic.py short HOST COUNT FIRST_PORT NPORTS
                                            COUNT short TCP exchanges, local ports cycling over
                                            FIRST_PORT..+NPORTS (so 4-tuples are reused)
  traffic.py udp HOST COUNT                 COUNT UDP request/response pairs
  traffic.py bulk HOST MBYTES               one TCP transfer of MBYTES to the sink
"""
import socket
import sys
import threading


def family(host):
    return socket.AF_INET6 if ':' in host else socket.AF_INET


def listener(addr, port, backlog):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(backlog)
    return s


def serve(addrs):
    def tcp_echo(addr):
        s = listener(addr, 7000, 1024)
        while True:
            c, _ = s.accept()
            try:
                data = c.recv(4096)
                c.sendall(data * 4)
            finally:
                c.close()  # the server closes first: TIME_WAIT stays here, the client port is free

    def sink(addr):
        s = listener(addr, 7001, 16)
        while True:
            c, _ = s.accept()
            threading.Thread(target=drain, args=(c,), daemon=True).start()

    def drain(c):
        while c.recv(1 << 20):
            pass
        c.close()

    def udp_echo(addr):
        s = socket.socket(family(addr), socket.SOCK_DGRAM)
        s.bind((addr, 7002))
        while True:
            data, peer = s.recvfrom(4096)
            s.sendto(data * 2, peer)

    for addr in addrs:
        for fn in (tcp_echo, sink, udp_echo):
            threading.Thread(target=fn, args=(addr,), daemon=True).start()
    threading.Event().wait()


def short(host, count, first_port, nports):
    for i in range(count):
        s = socket.socket(family(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(('', first_port + i % nports))
            s.connect((host, 7000))
            s.sendall(b'x' * (50 + i % 200))
            while s.recv(65536):
                pass
        except OSError:
            pass  # a port still in TIME_WAIT somewhere: skip it, the next one goes
        finally:
            s.close()


def udp(host, count):
    s = socket.socket(family(host), socket.SOCK_DGRAM)
    s.settimeout(0.2)
    for i in range(count):
        if i % 50 == 0:  # a new socket (a new session) every 50 exchanges
            s.close()
            s = socket.socket(family(host), socket.SOCK_DGRAM)
            s.settimeout(0.2)
        s.sendto(b'q' * (20 + i % 100), (host, 7002))
        try:
            s.recv(4096)
        except socket.timeout:
            pass


def bulk(host, mbytes):
    s = socket.socket(family(host), socket.SOCK_STREAM)
    s.connect((host, 7001))
    block = b'\0' * (1 << 20)
    for _ in range(mbytes):
        s.sendall(block)
    s.close()


if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'serve':
        serve(sys.argv[2:])
    elif cmd == 'short':
        short(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == 'udp':
        udp(sys.argv[2], int(sys.argv[3]))
    elif cmd == 'bulk':
        bulk(sys.argv[2], int(sys.argv[3]))
