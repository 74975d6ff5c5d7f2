"""The Python side of npm run bench:export: how fast a notebook gets clusters into a DataFrame.

usage: export_client.py MODE URL TOKEN [COLUMNS] [LIMIT]
  export   gw.clusters() through the Arrow export (pyarrow if installed, else the numpy reader)
  files    the per-run Arrow files the reconstruction wrote, downloaded and read the same way
  graphql  gw.clusters(via="graphql"), GraphQL pages of 500
Prints one JSON line: {"rows": ..., "seconds": ..., "reader": ...}.
"""

import json
import sys
import time

import pandas
import requests

from cygno_client import Gateway, arrow


def main():
    mode, url, token = sys.argv[1:4]
    columns = sys.argv[4].split(",") if len(sys.argv) > 4 and sys.argv[4] else None
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
    gw = Gateway(url, token=token or None, timeout=600)
    reader = "pyarrow" if _has_pyarrow() else "numpy"
    if mode == "files":
        urls = [
            f["downloadUrl"]
            for run in gw.query("{ runs(first: 500) { nodes { files { kind downloadUrl } } } }")["runs"]["nodes"]
            for f in run["files"]
            if f["kind"] == "RECO"
        ]
        start = time.perf_counter()
        parts = []
        session = requests.Session()
        for file_url in urls:
            with session.get(file_url, stream=True) as response:
                response.raise_for_status()
                if reader == "pyarrow":
                    import pyarrow.ipc

                    parts.append(pyarrow.ipc.open_file(pyarrow.py_buffer(response.content)).read_all().to_pandas())
                else:
                    _, read = arrow.read_stream(response.raw)
                    parts.append(pandas.DataFrame({name: c.values for name, c in read.items()}))
        frame = pandas.concat(parts, ignore_index=True)
        seconds = time.perf_counter() - start
    else:
        start = time.perf_counter()
        frame = gw.clusters(limit=limit, columns=columns, via="graphql" if mode == "graphql" else "arrow")
        seconds = time.perf_counter() - start
    print(json.dumps({"rows": len(frame), "columns": len(frame.columns), "seconds": seconds, "reader": reader}))


def _has_pyarrow():
    try:
        import pyarrow.ipc  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
