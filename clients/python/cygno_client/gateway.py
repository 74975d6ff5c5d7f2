"""Queries over HTTP (requests) and subscriptions over graphql-ws (websockets)."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import requests

from .live import READY, close_code, is_connection_loss
from .midas import bank_array
from .live import subscribe as _subscribe
from .tokens import token_source

RUN_FIELDS = """runNumber runType pedestal state recoStatus quality description eventCount
exposureSeconds startedAt stoppedAt"""
EVENT_FIELDS = """id eventId serial timestamp triggerMask fileOffset sizeBytes bankNames clusterCount
imageIntegral imageMean imageRms spark"""
CLUSTER_FIELDS = """id eventId runId integral energy nhits size length width theta xMean yMean
xMin xMax yMin yMax rms longitudinalRms transverseRms recoVersion"""


class GatewayError(RuntimeError):
    """The gateway refused or failed a request; `code` is its extensions.code."""

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message if code is None else f"{code}: {message}")
        self.code = code


class Gateway:
    """A connection to one gateway.

    >>> gw = Gateway("https://cygno-gateway.example.org", token="...")
    >>> import pandas as pd
    >>> runs = pd.DataFrame(gw.runs(run_types=["DATA"], limit=100))

    The token: `token` (or GATEWAY_TOKEN); or a file kept fresh by something else, read again
    when it changes (`token_file`, GATEWAY_TOKEN_FILE); or IAM client credentials, renewed
    before they expire (`client_id`, `client_secret`, `issuer`, `scope`, or GATEWAY_CLIENT_ID,
    GATEWAY_CLIENT_SECRET, GATEWAY_OIDC_ISSUER, GATEWAY_OIDC_SCOPE).
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: float = 60,
        *,
        token_file: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        issuer: Optional[str] = None,
        scope: Optional[str] = None,
    ):
        self.url = (url or os.environ.get("GATEWAY_URL", "http://127.0.0.1:4000")).rstrip("/")
        self.tokens = token_source(token, token_file, client_id, client_secret, issuer, scope)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["content-type"] = "application/json"

    @property
    def token(self) -> Optional[str]:
        """The bearer token sent now (renewed when its source renews it)."""
        return self.tokens.token()

    # -- plain GraphQL -------------------------------------------------------------------

    def query(self, query: str, **variables: Any) -> Dict[str, Any]:
        """Runs a query or mutation; returns its `data`, raises GatewayError on any error."""
        token = self.token
        response = self.session.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"} if token else {},
            timeout=self.timeout,
        )
        try:
            body = response.json()
        except ValueError:
            raise GatewayError(f"HTTP {response.status_code}: {response.text[:200]}") from None
        errors = body.get("errors")
        if errors:
            first = errors[0]
            raise GatewayError(first.get("message", "error"), first.get("extensions", {}).get("code"))
        if response.status_code >= 400 or body.get("data") is None:
            raise GatewayError(f"HTTP {response.status_code}")
        return body["data"]

    def _pages(self, field: str, query: str, variables: Dict[str, Any], limit: Optional[int]):
        """Follows a connection's cursors; yields nodes until `limit` (None: all)."""
        after = None
        count = 0
        while True:
            page_size = 500 if limit is None else max(0, min(500, limit - count))
            if page_size == 0:
                return
            data = self.query(query, first=page_size, after=after, **variables)[field]
            for node in data["nodes"]:
                yield node
                count += 1
            if not data["pageInfo"]["hasNextPage"]:
                return
            after = data["pageInfo"]["endCursor"]

    # -- lists of dicts ------------------------------------------------------------------

    def runs(self, limit: Optional[int] = None, **filter: Any) -> List[Dict[str, Any]]:
        """Runs, newest first. Filters: min_run_number, max_run_number, run_types, pedestal,
        state, quality (list), started_from, started_to, description_contains."""
        query = f"""query($first: Int, $after: String, $filter: RunFilter) {{
          runs(first: $first, after: $after, filter: $filter) {{
            nodes {{ {RUN_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        return list(self._pages("runs", query, {"filter": _camel(filter) or None}, limit))

    def run(self, run_number: int) -> Optional[Dict[str, Any]]:
        """One run with its files and jobs, or None."""
        query = f"""query($n: Int!) {{ run(runNumber: $n) {{ {RUN_FIELDS} attributes
          files {{ id name kind sizeBytes md5 cloudState localState downloadUrl }}
          jobs {{ kind state progress attempts lastError }} }} }}"""
        return self.query(query, n=run_number)["run"]

    def events(self, run_number: int, limit: Optional[int] = None, **filter: Any) -> List[Dict[str, Any]]:
        """Indexed events of a run. Filters: bank_name, min_serial, max_serial, event_ids,
        from_ (start time), to."""
        query = f"""query($n: Int!, $first: Int, $after: String, $filter: EventFilter) {{
          events(runNumber: $n, first: $first, after: $after, filter: $filter) {{
            nodes {{ {EVENT_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        return list(self._pages("events", query, {"n": run_number, "filter": _camel(filter) or None}, limit))

    def clusters(self, limit: Optional[int] = None, **filter: Any) -> List[Dict[str, Any]]:
        """Reconstructed clusters. Filters: run_number_from, run_number_to, run_types,
        only_good_runs, min_integral, max_integral, min_size, max_size, min_length,
        max_length, reco_version."""
        query = f"""query($first: Int, $after: String, $filter: ClusterFilter!) {{
          clusters(first: $first, after: $after, filter: $filter) {{
            nodes {{ {CLUSTER_FIELDS} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        return list(self._pages("clusters", query, {"filter": _camel(filter)}, limit))

    # -- files ---------------------------------------------------------------------------

    def download(self, run_number: int, directory: str = ".", kind: str = "RAW") -> List[str]:
        """Downloads a run's files of `kind` (RAW, RECO, PEDESTAL) through their downloadUrl;
        returns the paths written. Streams: multi-GB raw files never sit in memory."""
        run = self.run(run_number)
        if run is None:
            raise GatewayError(f"run {run_number} not found", "NOT_FOUND")
        paths = []
        for file in run["files"]:
            if file["kind"] != kind:
                continue
            if not file["downloadUrl"]:
                raise GatewayError(f"{file['name']} is not in the object store ({file['cloudState']})")
            target = os.path.join(directory, file["name"])
            with requests.get(file["downloadUrl"], stream=True, timeout=self.timeout) as response:
                response.raise_for_status()
                partial = target + ".part"
                with open(partial, "wb") as out:
                    shutil.copyfileobj(response.raw, out, length=1 << 20)
                os.replace(partial, target)
            paths.append(target)
        return paths

    def event_bytes(self, run_number: int, serial: int) -> bytes:
        """One MIDAS event of a run (header and banks, as in the raw file), fetched alone: the
        gateway reads a byte range of a plain file, or inflates a gzip file from the nearest
        point of its seek index — about the event's size, never the whole run."""
        data = self.query(
            "query($n: Int!, $s: SafeInt!) { events(runNumber: $n, first: 1, filter: { minSerial: $s, maxSerial: $s }) { nodes { downloadUrl } } }",
            n=run_number,
            s=serial,
        )
        nodes = data["events"]["nodes"]
        if not nodes:
            raise GatewayError(f"run {run_number} has no event {serial}", "NOT_FOUND")
        response = requests.get(nodes[0]["downloadUrl"], timeout=self.timeout)
        if response.status_code != 200:
            try:
                message = response.json()["error"]
            except ValueError:
                message = response.text
            raise GatewayError(f"event {serial} of run {run_number}: {message}", str(response.status_code))
        return response.content

    def image(self, run_number: int, serial: int, bank: str = "CAM0"):
        """A camera image of one event as a 2-D numpy array (needs numpy)."""
        return bank_array(self.event_bytes(run_number, serial), bank)

    # -- live ----------------------------------------------------------------------------

    def subscribe(self, query: str, timeout: Optional[float] = None, **variables: Any) -> Iterator[Dict[str, Any]]:
        """Yields the `data` of each event of a GraphQL subscription (graphql-ws)."""
        return _subscribe(self.url, self.token, query, variables, timeout)

    def follow_run(
        self,
        run_number: int,
        until: Optional[Callable[[Dict[str, Any]], bool]] = None,
        timeout: Optional[float] = None,
        reconnect: bool = True,
        max_reconnects: int = 10,
    ) -> Iterator[Dict[str, Any]]:
        """Yields the run as it is, then each time it changes (state, reconstruction, quality),
        until `until(run)` is true — by default until its reconstruction is done or failed.

        A dropped connection (a gateway restart, a network blip, or the end of a token that its
        source renews) is re-opened with backoff, and the run is read again once subscribed, so a
        change made meanwhile is not lost; a refused token, a GraphQL error or `timeout` seconds
        without news still raise."""
        done = until or (lambda run: run["recoStatus"] in ("DONE", "FAILED"))
        query = f"subscription($n: Int) {{ runUpdated(runNumber: $n) {{ {RUN_FIELDS} }} }}"
        current = f"query($n: Int!) {{ run(runNumber: $n) {{ {RUN_FIELDS} }} }}"
        last: Optional[Dict[str, Any]] = None
        failures = 0
        while True:
            try:
                for item in _subscribe(self.url, self.token, query, {"n": run_number}, timeout, ready=True):
                    if item is READY:
                        failures = 0
                        run = self.query(current, n=run_number)["run"]
                    else:
                        run = item["runUpdated"]
                    if run is None or run == last:
                        continue
                    last = run
                    yield run
                    if done(run):
                        return
                return  # the gateway ended the subscription
            except Exception as error:
                renewable = self.tokens.renews and close_code(error) == 4401
                lost = renewable or is_connection_loss(error) or isinstance(error, requests.ConnectionError)
                if not reconnect or not lost or failures >= max_reconnects:
                    raise
                failures += 1
                time.sleep(min(10.0, 0.5 * 2 ** (failures - 1)))


def _camel(filter: Dict[str, Any]) -> Dict[str, Any]:
    """Python-style keyword filters to the API's camelCase names."""
    out = {}
    for key, value in filter.items():
        key = key.rstrip("_")
        parts = key.split("_")
        out[parts[0] + "".join(p.title() for p in parts[1:])] = value
    return out
