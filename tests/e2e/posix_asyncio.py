#!/usr/bin/env python3
"""asyncio echo peers for tests/e2e/posix_asyncio.bats (Python's default event loop: epoll).

  posix_asyncio.py server ADDR PORT          echo every byte back; prints "listening"
  posix_asyncio.py clients ADDR PORT N SIZE  N concurrent connections, each sends SIZE bytes
                                             of its own pattern, half-closes, reads the echo
                                             to EOF; prints "N/N echoed SIZE bytes" when all
                                             match, exit 1 otherwise
"""
import asyncio
import sys


async def echo(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def server(addr, port):
    srv = await asyncio.start_server(echo, addr, port, backlog=256)
    print("listening", flush=True)
    async with srv:
        await srv.serve_forever()


async def one(addr, port, i, size):
    pattern = (b"%06d:" % i) * (size // 7 + 1)
    payload = pattern[:size]
    reader, writer = await asyncio.open_connection(addr, port)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    got = bytearray()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            break
        got += chunk
    writer.close()
    return bytes(got) == payload


async def clients(addr, port, n, size):
    res = await asyncio.wait_for(
        asyncio.gather(*(one(addr, port, i, size) for i in range(n)), return_exceptions=True), 60)
    ok = sum(1 for r in res if r is True)
    for r in res:
        if r is not True:
            print("failed:", repr(r))
            break
    print("%d/%d echoed %d bytes" % (ok, n, size), flush=True)
    return 0 if ok == n else 1


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "server":
        asyncio.run(server(addr, port))
        return 0
    return asyncio.run(clients(addr, port, int(sys.argv[4]), int(sys.argv[5])))


if __name__ == "__main__":
    sys.exit(main())
