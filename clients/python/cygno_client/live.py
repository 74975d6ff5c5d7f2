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
import websockets.exceptions

_END = object()
#: Yielded by `subscribe(..., ready=True)` once the subscription has been sent: what happens
#: from then on arrives as events (a catch-up query made now misses nothing).
READY = object()


async def _run(url: str, token: Optional[str], query: str, variables: Dict[str, Any], out: "queue.Queue", stop: threading.Event):
    ws_url = url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        while json.loads(await socket.recv())["type"] != "connection_ack":
            pass
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
        out.put(READY)
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


def close_code(error: BaseException) -> Optional[int]:
    """The close code of a WebSocket the gateway closed (4401, 4403…), if that is the error."""
    received = getattr(error, "rcvd", None)
    if received is not None:
        return received.code
    code = getattr(error, "code", None)
    return code if isinstance(code, int) else None


def is_connection_loss(error: BaseException) -> bool:
    """A dropped or refused connection (a gateway restart, a network blip), as opposed to a
    refused token, a GraphQL error or the caller's own timeout."""
    if isinstance(error, TimeoutError):
        return False
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        return close_code(error) not in (4400, 4401, 4403, 4409)
    return isinstance(error, (OSError, EOFError, websockets.exceptions.WebSocketException))


def subscribe(
    url: str,
    token: Optional[str],
    query: str,
    variables: Dict[str, Any],
    timeout: Optional[float],
    ready: bool = False,
) -> Iterator[Any]:
    """Yields each event's data (and READY once subscribed, when `ready`); raises on a refused
    token (socket closed 4401/4403), a GraphQL error, a lost connection, or no event within
    `timeout` seconds."""
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
            if item is READY:
                if ready:
                    yield item
                continue
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
