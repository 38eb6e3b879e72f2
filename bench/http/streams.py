"""Open N concurrent streaming requests (Accept: text/event-stream) and keep every connection
open; print the server's RSS while all N are open. Usage: streams.py PORT PID N"""
import asyncio, sys

PORT, PID, N = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1

async def one(i, opened, release, sem):
    async with sem:
        r, w = await asyncio.open_connection("127.0.0.1", PORT)
        return await talk(i, r, w, opened, release)

async def talk(i, r, w, opened, release):
    body = ('{"message":"Do you ship abroad?","user_id":"stream-%d"}' % i).encode()
    w.write(b"POST /api/partner-chat/123 HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n"
            b"Content-Type: application/json\r\nX-Forwarded-For: 10.9.%d.%d\r\nContent-Length: %d\r\n\r\n"
            % (i // 250 % 250, i % 250 + 1, len(body)) + body)
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    ok = b" 200 " in head.split(b"\r\n")[0]
    opened.append(ok)
    return (r, w, ok)

async def main():
    opened, release = [], asyncio.Event()
    sem = asyncio.Semaphore(500)
    results = await asyncio.gather(*[one(i, opened, release, sem) for i in range(N)], return_exceptions=True)
    conns = [x for x in results if isinstance(x, tuple)]
    errors = [x for x in results if not isinstance(x, tuple)]
    await asyncio.sleep(1.0)
    print(f"connections_open: {len(conns)} streamed_ok={sum(1 for c in conns if c[2])} errors={len(errors)}")
    print(f"rss_mb_with_{N}_connections: {rss_mb(PID):.1f}")
    for r, w, _ in conns:
        w.close()

asyncio.run(main())
