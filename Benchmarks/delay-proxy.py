#!/usr/bin/env python3
"""A TCP link with latency and a bandwidth cap, for machines without netem.

    delay-proxy.py LISTEN_PORT TARGET_PORT ONE_WAY_DELAY_MS [RATE_BYTES_PER_SECOND]

Listens on 127.0.0.1:LISTEN_PORT and forwards every connection to 127.0.0.1:TARGET_PORT. Each
direction of each connection is a link: bytes leave it in order, each chunk after the link has
serialised the ones before it at RATE (if given) and then ONE_WAY_DELAY_MS later. This kernel has
neither the netem nor the fq qdisc, so `tc` can cap a rate (tbf) but not add delay; this proxy does
both, in user space. The queue is unbounded: senders are bounded by their own windows (a store
sync's chunk window, ZeroMQ's high-water marks), which is what the benchmark measures.
"""
import asyncio
import sys
import time

LISTEN, TARGET = int(sys.argv[1]), int(sys.argv[2])
DELAY = float(sys.argv[3]) / 1000.0
RATE = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0


async def link(reader, writer):
    """Carries one direction: reads as it comes, delivers each chunk at its arrival time."""
    queue = asyncio.Queue()

    async def deliver():
        while True:
            arrival, data = await queue.get()
            if data is None:
                break
            wait = arrival - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    delivering = asyncio.create_task(deliver())
    link_free = time.monotonic()
    try:
        while True:
            data = await reader.read(256 * 1024)
            if not data:
                break
            now = time.monotonic()
            departure = max(now, link_free) + (len(data) / RATE if RATE else 0.0)
            link_free = departure
            queue.put_nowait((departure + DELAY, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((0.0, None))
    try:
        await delivering
    except (ConnectionError, OSError):
        pass


async def connection(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        client_writer.close()
        return
    await asyncio.gather(link(client_reader, server_writer), link(server_reader, client_writer), return_exceptions=True)
    for w in (client_writer, server_writer):
        w.close()


async def main():
    server = await asyncio.start_server(connection, "127.0.0.1", LISTEN, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
