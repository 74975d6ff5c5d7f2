"""Runs against a live gateway (GATEWAY_URL) that holds the simulator's runs 1 (pedestal) and 2
(data, reconstructed); test/clients/python.test.ts starts one and runs these with Debian's
python3-requests and python3-websockets."""

import gzip
import hashlib
import os
import socket
import struct
import tempfile
import threading
import time
import unittest
from urllib.parse import urlparse

import numpy
import pandas
import requests

from cygno_client import Gateway, GatewayError, arrow, frames


class DroppingProxy:
    """A TCP proxy in front of the gateway whose connections can be cut, as a network blip or a
    gateway restart cuts them; it keeps accepting new ones."""

    def __init__(self, target_url: str):
        target = urlparse(target_url)
        self.target = (target.hostname, target.port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.accepted = 0
        self.open = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.accepted += 1
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop(self):
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open = []

    def close(self):
        self.drop()
        self.server.close()


class ClientTest(unittest.TestCase):
    gw = Gateway(os.environ["GATEWAY_URL"], token=os.environ.get("GATEWAY_TOKEN"))

    def test_runs_are_dicts_ready_for_pandas(self):
        runs = self.gw.runs(max_run_number=2)
        numbers = [r["runNumber"] for r in runs]
        self.assertEqual(numbers, [2, 1])  # newest first
        self.assertEqual({type(r) for r in runs}, {dict})
        self.assertEqual(runs[0]["recoStatus"], "DONE")
        self.assertEqual([r["runNumber"] for r in self.gw.runs(pedestal=True)], [1])
        self.assertEqual(len(self.gw.runs(limit=1)), 1)

    def test_events_and_clusters_are_dataframes(self):
        events = self.gw.events(2, bank_name="CAM0")
        self.assertIsInstance(events, pandas.DataFrame)
        self.assertEqual(len(events), 3)
        self.assertEqual(list(events["serial"]), sorted(events["serial"]))
        self.assertIn("CAM0", events["bankNames"].iloc[0].split(","))
        self.assertEqual(set(events["runNumber"]), {2})
        clusters = self.gw.clusters(run_number_from=2, run_number_to=2)
        self.assertEqual(len(clusters), events["clusterCount"].sum())
        self.assertEqual(clusters["integral"].dtype, "float64")
        self.assertEqual(set(clusters["runNumber"]), {2})
        self.assertEqual(set(clusters["recoVersion"]), {1})
        small = self.gw.clusters(run_number_from=2, max_integral=1e12, limit=2)
        self.assertLessEqual(len(small), 2)
        picked = self.gw.clusters(columns=["integral", "runNumber"], limit=3)
        self.assertEqual(list(picked.columns), ["integral", "runNumber"])

    def test_arrow_export_and_graphql_pages_give_the_same_frames(self):
        numpy_reader = Gateway(os.environ["GATEWAY_URL"], token=os.environ.get("GATEWAY_TOKEN"))
        numpy_reader.arrow_reader = "numpy"  # the path without pyarrow, whatever is installed
        for kind, ask in (("clusters", {}), ("events", {"max_run_number": 2})):
            fast = getattr(numpy_reader, kind)(via="arrow", **ask)
            paged = getattr(self.gw, kind)(via="graphql", **ask)
            self.assertGreater(len(fast), 0)
            # Same columns, same dtypes, same values (doubles to the last digit the API's JSON
            # keeps: MariaDB's text protocol prints 15-17 significant digits).
            pandas.testing.assert_frame_equal(fast, paged, check_exact=False, rtol=1e-13)
            expected = {name: frames.PANDAS_DTYPES[(t, nullable)] for name, t, nullable in frames.CATALOGS[kind]}
            self.assertEqual({c: str(d) for c, d in fast.dtypes.items()}, expected)
        events = numpy_reader.events(via="arrow")
        # The reconstruction version of the summaries: set for the reconstructed run, unknown
        # for the pedestal run (reconstructed by PEDESTAL, which writes no summaries).
        self.assertEqual(set(events[events["runNumber"] == 2]["recoVersion"]), {1})

    def test_client_catalog_is_the_export_schema(self):
        for kind in ("clusters", "events"):
            response = requests.post(
                f"{self.gw.url}/export/{kind}.arrow",
                json={"filter": {"minRunNumber": 999} if kind == "events" else {"runNumberFrom": 999}},
                headers={"authorization": f"Bearer {self.gw.token}"},
                stream=True,
            )
            self.assertEqual(response.status_code, 200)
            fields, columns = arrow.read_stream(response.raw)
            self.assertEqual([f.name for f in fields], [c[0] for c in frames.CATALOGS[kind]])
            self.assertEqual([f.nullable for f in fields], [c[2] for c in frames.CATALOGS[kind]])
            self.assertEqual({len(c.values) for c in columns.values()}, {0})

    def test_numpy_reader_reads_the_reconstruction_arrow_file(self):
        run = self.gw.run(2)
        reco = next(f for f in run["files"] if f["kind"] == "RECO")
        response = requests.get(reco["downloadUrl"], stream=True)
        fields, columns = arrow.read_stream(response.raw)  # the IPC *file* format
        clusters = self.gw.clusters(run_number_from=2, run_number_to=2)
        self.assertEqual(len(columns["integral"].values), len(clusters))
        numpy.testing.assert_allclose(
            numpy.sort(columns["integral"].values), numpy.sort(clusters["integral"].to_numpy()), rtol=1e-13
        )

    def test_export_refusals_carry_the_gateway_code(self):
        with self.assertRaises(ValueError):
            self.gw.clusters(columns=["integral", "bogus"])
        with self.assertRaises(GatewayError) as caught:
            self.gw.clusters(via="arrow", min_integral="lots")
        self.assertEqual(caught.exception.code, "BAD_USER_INPUT")

    def test_pagination_follows_cursors(self):
        # More events than one page of 2: the client walks the cursors.
        paged = list(self.gw._pages(
            "events",
            "query($n: Int!, $first: Int, $after: String) { events(runNumber: $n, first: $first, after: $after) { nodes { serial } pageInfo { hasNextPage endCursor } } }",
            {"n": 2},
            None,
        ))
        self.assertEqual(len(paged), len(self.gw.events(2)))

    def test_download_through_download_url(self):
        run = self.gw.run(2)
        raw = next(f for f in run["files"] if f["kind"] == "RAW")
        with tempfile.TemporaryDirectory() as directory:
            [path] = self.gw.download(2, directory)
            with open(path, "rb") as file:
                self.assertEqual(hashlib.md5(file.read()).hexdigest(), raw["md5"])
            self.assertEqual(os.path.getsize(path), raw["sizeBytes"])

    def test_one_event_alone_and_its_image(self):
        events = self.gw.events(2)
        last = {name: int(value) for name, value in events.iloc[-1][["serial", "sizeBytes", "fileOffset"]].items()}
        raw = self.gw.event_bytes(2, last["serial"])
        self.assertEqual(len(raw), last["sizeBytes"])
        self.assertEqual(struct.unpack_from("<I", raw, 4)[0], last["serial"])
        # The same bytes as in the whole raw file, downloaded and inflated here.
        with tempfile.TemporaryDirectory() as directory:
            [path] = self.gw.download(2, directory)
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as file:
                whole = file.read()
        self.assertTrue(path.endswith(".mid.gz"))
        self.assertEqual(raw, whole[last["fileOffset"]:last["fileOffset"] + last["sizeBytes"]])
        image = self.gw.image(2, last["serial"])
        self.assertEqual(image.shape, (256, 256))
        self.assertEqual(image.dtype.str, "<u2")
        # Pedestal-subtracted with the map of run 1, the pedestal run its reconstruction used.
        mean, sigma = self.gw.pedestal_map(2)
        self.assertEqual((mean.shape, sigma.shape), ((256, 256), (256, 256)))
        subtracted = self.gw.image(2, last["serial"], subtract_pedestal=True)
        self.assertEqual(subtracted.dtype, numpy.float32)
        numpy.testing.assert_array_equal(subtracted, image.astype(numpy.float32) - mean)
        self.assertLess(abs(float(numpy.median(subtracted))), 3 * float(numpy.median(sigma)))
        self.assertGreater(float(numpy.median(image)), 10 * float(numpy.median(sigma)))
        with self.assertRaises(GatewayError) as caught:
            self.gw.event_bytes(2, 10_000)
        self.assertEqual(caught.exception.code, "NOT_FOUND")

    def test_reduced_file_opens_with_numpy_and_holds_the_raw_pixels(self):
        reduced = self.gw.reduced(2)
        self.assertEqual(reduced.metadata["runNumber"], 2)
        events = reduced.events()
        self.assertEqual(list(events["serial"]), list(self.gw.events(2)["serial"]))
        serial = int(events["serial"].iloc[-1])
        y, x, raw = reduced.raw_pixels(serial, *self.gw.pedestal_map(2))
        self.assertGreater(len(raw), 0)
        # The kept pixels are the camera's own values, exactly.
        image = self.gw.image(2, serial)
        numpy.testing.assert_array_equal(raw, image[y, x].astype(numpy.int64))
        picture = reduced.image(serial)
        self.assertEqual(picture.shape, (256, 256))
        self.assertEqual(int(numpy.isfinite(picture).sum()), len(raw))
        # Every cluster of the event lies in what was kept.
        clusters = self.gw.clusters(run_number_from=2, run_number_to=2)
        for _, cluster in clusters[clusters["serial"] == serial].iterrows():
            self.assertTrue(numpy.isfinite(picture[int(cluster["yMin"]), int(cluster["xMin"])]))

    def test_errors_carry_the_gateway_code(self):
        with self.assertRaises(GatewayError) as caught:
            self.gw.query("{ runs(first: 100000) { totalCount } }")
        self.assertEqual(caught.exception.code, "BAD_USER_INPUT")
        self.assertIsNone(self.gw.run(999))

    def test_follows_a_run_live(self):
        def daq():
            time.sleep(1.0)  # the subscription is registered by then
            self.gw.query("mutation { startRun(input: { runNumber: 50 }) { runNumber } }")
            self.gw.query("mutation { closeRun(input: { runNumber: 50 }) { runNumber } }")

        threading.Thread(target=daq, daemon=True).start()
        states = [run["state"] for run in self.gw.follow_run(50, until=lambda r: r["state"] == "CLOSED", timeout=20)]
        self.assertEqual(states[0], "RUNNING")
        self.assertEqual(states[-1], "CLOSED")

    def test_follows_a_run_across_a_dropped_connection(self):
        proxy = DroppingProxy(self.gw.url)
        self.addCleanup(proxy.close)
        through_proxy = Gateway(proxy.url, token=self.gw.token)

        def daq():
            time.sleep(1.0)
            self.gw.query("mutation { startRun(input: { runNumber: 51 }) { runNumber } }")
            time.sleep(0.5)
            proxy.drop()  # the client is cut off, and the run closes while it is away
            self.gw.query("mutation { closeRun(input: { runNumber: 51 }) { runNumber } }")

        threading.Thread(target=daq, daemon=True).start()
        runs = through_proxy.follow_run(51, until=lambda r: r["state"] == "CLOSED", timeout=20)
        states = [run["state"] for run in runs]
        self.assertEqual(states[0], "RUNNING")
        self.assertEqual(states[-1], "CLOSED")
        self.assertGreaterEqual(proxy.accepted, 2)  # it came back through a new connection

    def test_follow_run_yields_a_finished_run_at_once(self):
        runs = list(self.gw.follow_run(2, timeout=5))  # reconstructed before the suite began
        self.assertEqual([run["recoStatus"] for run in runs], ["DONE"])

    def test_a_refused_token_raises(self):
        with self.assertRaises(GatewayError) as caught:
            Gateway(self.gw.url, token="not-a-token-at-all-0123").runs()
        self.assertEqual(caught.exception.code, "UNAUTHENTICATED")
        with self.assertRaises(Exception):
            list(Gateway(self.gw.url, token="not-a-token-at-all-0123").follow_run(2, timeout=5))


class TokenTest(unittest.TestCase):
    """Tokens from the identity provider the runner starts (IDP_ISSUER: panva's oidc-provider,
    issuing as INDIGO IAM does); IDP_CLIENT_ID's tokens live 3 seconds."""

    url = os.environ["GATEWAY_URL"]

    def test_client_credentials_are_renewed_before_they_expire(self):
        gw = Gateway(
            self.url,
            client_id=os.environ["IDP_CLIENT_ID"],
            client_secret=os.environ["IDP_CLIENT_SECRET"],
            issuer=os.environ["IDP_ISSUER"],
            scope="cygno.daq",
        )
        first = gw.token
        self.assertEqual([r["runNumber"] for r in gw.runs(max_run_number=2)], [2, 1])
        self.assertEqual(gw.token, first)  # reused while young
        time.sleep(1.7)  # past half the life of a 3-second token
        self.assertNotEqual(gw.token, first)
        time.sleep(2.0)  # the first token has expired by now
        self.assertEqual(len(gw.runs(max_run_number=2)), 2)

    def test_a_token_file_is_read_again_when_it_changes(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "token")
            with self.assertRaises(RuntimeError):
                Gateway(self.url, token_file=path).runs()
            with open(path, "w") as file:
                file.write("not-a-token-at-all-0123\n")
            gw = Gateway(self.url, token_file=path)
            with self.assertRaises(GatewayError):
                gw.runs()
            time.sleep(0.05)  # a new modification time
            with open(path, "w") as file:
                file.write(os.environ["GATEWAY_TOKEN"])
            self.assertEqual(len(gw.runs(max_run_number=2)), 2)
            with open(path, "w"):
                pass  # emptied: the last good token is kept
            self.assertEqual(len(gw.runs(max_run_number=2)), 2)


if __name__ == "__main__":
    unittest.main()
