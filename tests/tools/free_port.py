#!/usr/bin/python3
"""Print a loopback port free now for both UDP and TCP (dnsmasq binds the
two; a test server, TCP).

The port is taken from below the kernel's ephemeral range: a port the
system hands out for bind(0) could be handed again, between this check
and the caller's bind, to one of the outgoing connections a test makes
(a send, curl), and the caller's bind would then fail.
"""
import random
import socket
import sys

try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
low = max(low, 12000)

for _ in range(500):
    p = random.randrange(10000, low)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = socket.socket()
    try:
        u.bind(("127.0.0.1", p))
        t.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        u.close()
        t.close()
    print(p)
    sys.exit(0)
sys.exit("no free port below the ephemeral range")
