#!/usr/bin/env python3
"""Port helper for the stack scripts.

  ports.py pick N      print N distinct free TCP ports on 127.0.0.1, one per line
  ports.py check PORT  exit 0 when PORT can be bound on all interfaces, 1 when it is taken
"""
import socket
import sys


def pick(count: int) -> list[int]:
    # Hold every socket open until all are chosen so the ports are distinct.
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def check(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "pick":
        print("\n".join(str(p) for p in pick(int(sys.argv[2]))))
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        return 0 if check(int(sys.argv[2])) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
