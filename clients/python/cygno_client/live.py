"""graphql-ws (graphql-transport-ws) subscriptions with the asyncio `websockets` API, offered as
a plain iterator: a background thread runs the event loop, so it works in scripts and in
Jupyter (which already runs a loop of its own)."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from typing import Any, Dict, Iterator, Optional

import websockets

_END = object()


async def _run(url: str, token: Optional[str], query: str, variables: Dict[str, Any], out: "queue.Queue", stop: threading.Event):
    ws_url = url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        while json.loads(await socket.recv())["type"] != "connection_ack":
            pass
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        while not stop.is_set():
            try:
                message = json.loads(await asyncio.wait_for(socket.recv(), timeout=0.5))
            except asyncio.TimeoutError:
                continue
            kind = message["type"]
            if kind == "ping":
                await socket.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                payload = message["payload"]
                if payload.get("errors"):
                    raise RuntimeError(payload["errors"][0]["message"])
                out.put(payload["data"])
            elif kind == "error":
                raise RuntimeError(message["payload"][0]["message"])
            elif kind == "complete":
                return
        await socket.send(json.dumps({"id": "1", "type": "complete"}))


def subscribe(url: str, token: Optional[str], query: str, variables: Dict[str, Any], timeout: Optional[float]) -> Iterator[Dict[str, Any]]:
    """Yields each event's data; raises on a refused token (socket closed 4401/4403), a GraphQL
    error, or no event within `timeout` seconds."""
    out: "queue.Queue" = queue.Queue()
    stop = threading.Event()

    def worker():
        try:
            asyncio.run(_run(url, token, query, variables, out, stop))
            out.put(_END)
        except BaseException as error:  # handed to the caller's thread
            out.put(error)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = out.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no subscription event within {timeout} s") from None
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
