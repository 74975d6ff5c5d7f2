"""Queries over HTTP (requests) and subscriptions over graphql-ws (websockets)."""

from __future__ import annotations

import os
import shutil
import struct
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence

import requests

from . import arrow, frames
from .live import READY, close_code, is_connection_loss
from .midas import bank_array
from .live import subscribe as _subscribe
from .tokens import token_source

RUN_FIELDS = """runNumber runType pedestal state recoStatus quality description eventCount
exposureSeconds startedAt stoppedAt"""


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
        # How the Arrow export is read: "auto" (pyarrow when installed, else numpy), "pyarrow",
        # "numpy".
        self.arrow_reader = "auto"
        self._pedestal_maps: Dict[str, Any] = {}

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

    def clusters(
        self,
        limit: Optional[int] = None,
        columns: Optional[Sequence[str]] = None,
        *,
        via: str = "auto",
        frame: str = "pandas",
        **filter: Any,
    ):
        """Reconstructed clusters as a pandas DataFrame (a polars one with frame="polars"), one
        row per cluster with its run number and reconstruction version. Filters (the API's
        ClusterFilter): run_number_from, run_number_to, run_types, only_good_runs,
        reco_version, min_integral, max_integral, min_size, max_size, min_length, max_length.
        `columns` picks and orders columns (CLUSTER_COLUMNS lists them).

        The rows come from the gateway's Arrow export, read by pyarrow when it is installed
        and by this client's numpy reader otherwise; via="graphql" pages through the GraphQL
        API instead (what an older gateway without the export gets). Same columns, same dtypes."""
        return self._frame("clusters", _camel(filter), columns, limit, via, frame)

    def events(
        self,
        run_number: Optional[int] = None,
        limit: Optional[int] = None,
        columns: Optional[Sequence[str]] = None,
        *,
        via: str = "auto",
        frame: str = "pandas",
        **filter: Any,
    ):
        """Indexed events as a DataFrame (see `clusters`): of one run, or of the runs the run
        filters select (min_run_number, max_run_number, run_types, pedestal, state, quality,
        started_from, started_to, description_contains), with the event filters bank_name,
        min_serial, max_serial, event_ids, from_ (start time) and to."""
        filter = _camel(filter)
        if run_number is not None:
            filter["minRunNumber"] = filter["maxRunNumber"] = run_number
        return self._frame("events", filter, columns, limit, via, frame)

    def _frame(self, kind: str, filter: Dict[str, Any], columns, limit, via: str, frame: str):
        if via not in ("auto", "arrow", "graphql"):
            raise ValueError('via must be "auto", "arrow" or "graphql"')
        if frame not in ("pandas", "polars"):
            raise ValueError('frame must be "pandas" or "polars"')
        selected = frames.select(kind, columns)
        if via != "graphql":
            try:
                data = self._export_columns(kind, filter, selected, limit)
                return frames.frame_from_columns(kind, selected, data, polars=frame == "polars")
            except _ExportMissing:
                if via == "arrow":
                    raise GatewayError("this gateway has no /export route", "NOT_FOUND") from None
        rows = self._graphql_rows(kind, filter, selected, limit)
        data = frames.columns_from_rows(selected, rows)
        return frames.frame_from_columns(kind, selected, data, polars=frame == "polars")

    def _export_columns(self, kind: str, filter: Dict[str, Any], selected, limit: Optional[int]):
        """The export's columns as (values, null mask), streamed and read batch by batch."""
        token = self.token
        body = {"filter": filter, "columns": [name for name, _, _ in selected]}
        if limit is not None:
            body["limit"] = limit
        with self.session.post(
            f"{self.url}/export/{kind}.arrow",
            json=body,
            headers={"authorization": f"Bearer {token}"} if token else {},
            timeout=self.timeout,
            stream=True,
        ) as response:
            if response.status_code == 404 and "json" not in response.headers.get("content-type", ""):
                raise _ExportMissing()
            if response.status_code != 200:
                try:
                    error = response.json()["errors"][0]
                    raise GatewayError(error["message"], error.get("extensions", {}).get("code"))
                except (ValueError, KeyError, IndexError):
                    raise GatewayError(f"HTTP {response.status_code}: {response.text[:200]}") from None
            if self.arrow_reader == "pyarrow" or (self.arrow_reader == "auto" and _has_pyarrow()):
                import pyarrow.ipc

                return frames.columns_from_pyarrow(pyarrow.ipc.open_stream(response.raw).read_all())
            _, columns = arrow.read_stream(response.raw)
            return frames.columns_from_numpy_arrow(columns)

    def _graphql_rows(self, kind: str, filter: Dict[str, Any], selected, limit: Optional[int]):
        names = [name for name, _, _ in selected]
        if kind == "clusters":
            query = f"""query($first: Int, $after: String, $filter: ClusterFilter!) {{
              clusters(first: $first, after: $after, filter: $filter) {{
                nodes {{ {" ".join(names)} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
            return list(self._pages("clusters", query, {"filter": filter}, limit))
        # Events: the runs the run filters select, then each run's events, in id order as the
        # export gives them.
        event_keys = {"eventIds", "minSerial", "maxSerial", "from", "to", "bankName"}
        event_filter = {k: v for k, v in filter.items() if k in event_keys}
        run_filter = {k: v for k, v in filter.items() if k not in event_keys}
        fields = {n for n in names if n != "recoVersion"} | {"id"}
        query = f"""query($n: Int!, $first: Int, $after: String, $filter: EventFilter) {{
          events(runNumber: $n, first: $first, after: $after, filter: $filter) {{
            nodes {{ {" ".join(sorted(fields))} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
        runs_query = """query($first: Int, $after: String, $filter: RunFilter) {
          runs(first: $first, after: $after, filter: $filter) {
            nodes { runNumber pedestal recoVersion jobs { kind state version } }
            pageInfo { hasNextPage endCursor } } }"""
        rows = []
        for run in self._pages("runs", runs_query, {"filter": run_filter or None}, None):
            # The version of the image summaries, as the export gives it: the run's current one
            # (older runs: their newest reconstruction); none for a pedestal run.
            done = [j["version"] for j in run["jobs"] if j["kind"] == "RECONSTRUCT" and j["state"] == "SUCCEEDED"]
            version = run["recoVersion"] if run["recoVersion"] is not None else (max(done) if done else None)
            for node in self._pages("events", query, {"n": run["runNumber"], "filter": event_filter or None}, None):
                node["recoVersion"] = None if run["pedestal"] else version
                rows.append(node)
        rows.sort(key=lambda row: int(row["id"]))
        return rows if limit is None else rows[:limit]

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

    def image(self, run_number: int, serial: int, bank: str = "CAM0", subtract_pedestal: bool = False):
        """A camera image of one event as a 2-D numpy array (needs numpy), fetched alone (see
        `event_bytes`). With subtract_pedestal, minus the mean of the pedestal map its
        reconstruction uses (float32): the picture the clusters were found in."""
        image = bank_array(self.event_bytes(run_number, serial), bank)
        if not subtract_pedestal:
            return image
        mean, _ = self.pedestal_map(run_number)
        if mean.shape != image.shape:
            raise GatewayError(f"the pedestal map is {mean.shape}, the image {image.shape}")
        return image.astype("float32") - mean

    def reduced(self, run_number: int):
        """The run's reduced file (regions of interest, see cygno_client.reduced) as a
        ReducedRun, fetched through its downloadUrl — about 1% of the raw bytes."""
        from .reduced import ReducedRun

        run = self.run(run_number)
        if run is None:
            raise GatewayError(f"run {run_number} not found", "NOT_FOUND")
        files = [f for f in run["files"] if f["kind"] == "REDUCED" and f["downloadUrl"]]
        if not files:
            raise GatewayError(f"run {run_number} has no reduced file in the object store", "NOT_FOUND")
        response = requests.get(files[-1]["downloadUrl"], timeout=self.timeout)
        response.raise_for_status()
        return ReducedRun(response.content)

    def pedestal_map(self, run_number: int):
        """(mean, sigma) of the pedestal map the reconstruction of a run subtracts, as 2-D
        float32 numpy arrays: that of the newest pedestal run before it. Kept per map."""
        import numpy

        data = self.query(
            """query($n: Int!) { run(runNumber: $n) { pedestal pedestalRun { runNumber
                 files { kind md5 downloadUrl cloudState } } } }""",
            n=run_number,
        )["run"]
        if data is None:
            raise GatewayError(f"run {run_number} not found", "NOT_FOUND")
        if data["pedestalRun"] is None:
            raise GatewayError(f"run {run_number} has no pedestal run before it", "NOT_FOUND")
        pedestal = data["pedestalRun"]
        files = [f for f in pedestal["files"] if f["kind"] == "PEDESTAL_MAP"]
        if not files or not files[0]["downloadUrl"]:
            raise GatewayError(f"pedestal run {pedestal['runNumber']} has no stored map (not processed yet?)")
        md5 = files[0]["md5"]
        if md5 not in self._pedestal_maps:
            response = requests.get(files[0]["downloadUrl"], timeout=self.timeout)
            response.raise_for_status()
            self._pedestal_maps[md5] = _decode_pedestal_map(response.content, numpy)
        return self._pedestal_maps[md5]

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


class _ExportMissing(Exception):
    """The gateway has no export route (an older version): use GraphQL."""


def _has_pyarrow() -> bool:
    try:
        import pyarrow.ipc  # noqa: F401
    except ImportError:
        return False
    return True


PEDESTAL_MAGIC = b"CYGPED01"


def _decode_pedestal_map(data: bytes, numpy):
    """A map as the gateway stores it: magic, width, height, images (uint32), then float32 means
    and sigmas, row by row."""
    if data[:8] != PEDESTAL_MAGIC:
        raise GatewayError("not a pedestal map (bad magic)")
    width, height = struct.unpack_from("<II", data, 8)
    n = width * height
    if len(data) != 24 + 8 * n:
        raise GatewayError(f"pedestal map of {width}x{height} should be {24 + 8 * n} bytes, is {len(data)}")
    mean = numpy.frombuffer(data, dtype="<f4", count=n, offset=24).reshape(height, width)
    sigma = numpy.frombuffer(data, dtype="<f4", count=n, offset=24 + 4 * n).reshape(height, width)
    return mean, sigma


def _camel(filter: Dict[str, Any]) -> Dict[str, Any]:
    """Python-style keyword filters to the API's camelCase names."""
    out = {}
    for key, value in filter.items():
        key = key.rstrip("_")
        parts = key.split("_")
        out[parts[0] + "".join(p.title() for p in parts[1:])] = value
    return out
