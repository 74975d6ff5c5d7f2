"""Reduced files (`run00042_v1_roi.npz`): a run's regions of interest, as the gateway keeps them
when REDUCTION is on. Plain numpy (`numpy.load`) reads them; this module only puts the pieces
together: the events and their summaries, and one event's kept pixels as a picture.

Layout (members of the .npz):
  metadata.json              run, reconstruction parameters, reduction parameters, pedestal
                             (run and md5), image size, the bin grid, the raw files
  serial, file, offset, size one entry per event: its serial, raw file (index into
                             metadata["files"]), offset and size there
  integral, mean, rms, hits, hot_pixels, spark
                             the full image's summary, as reconstructed
  bin_start, pixel_start     event e owns bins[bin_start[e]:bin_start[e+1]] and
                             pixels[pixel_start[e]:pixel_start[e+1]]
  bins                       kept bins (bin = by * binsWide + bx), ascending per event
  pixels                     int16: raw value minus the pixel's reference level (its pedestal
                             mean, rounded; never above its zero-suppression cut), bin after
                             bin, each bin row by row
"""

from __future__ import annotations

import io
import json
from typing import Any, Dict, Tuple, Union


class ReducedRun:
    """A reduced file, from a path or its bytes."""

    def __init__(self, source: Union[str, bytes]):
        import numpy

        self._np = numpy
        self._npz = numpy.load(io.BytesIO(source) if isinstance(source, bytes) else source)
        self.metadata: Dict[str, Any] = json.loads(self._npz["metadata.json"])
        if self.metadata.get("format") != "cygno-roi":
            raise ValueError("not a cygno-gateway reduced file")
        self.serials = self._npz["serial"]
        self._bin_start = self._npz["bin_start"]
        self._pixel_start = self._npz["pixel_start"]
        self._bins = self._npz["bins"]
        self._pixels = self._npz["pixels"]

    def events(self):
        """The events and their full-image summaries, as a pandas DataFrame."""
        import pandas

        columns = ["serial", "integral", "mean", "rms", "hits", "hot_pixels", "spark", "offset", "size"]
        frame = pandas.DataFrame({name: self._npz[name] for name in columns})
        frame.insert(1, "file", [self.metadata["files"][i] for i in self._npz["file"]])
        return frame

    def _index(self, serial: int) -> int:
        found = self._np.flatnonzero(self.serials == serial)
        if len(found) == 0:
            raise KeyError(f"no event {serial} in the reduced file of run {self.metadata['runNumber']}")
        return int(found[0])

    def roi(self, serial: int) -> Tuple[Any, Any, Any]:
        """(y, x, value) of every kept pixel of one event; value ≈ pedestal-subtracted ADC."""
        np = self._np
        e = self._index(serial)
        grid = self.metadata["grid"]
        rebin, wide = grid["rebin"], grid["binsWide"]
        bins = self._bins[self._bin_start[e]:self._bin_start[e + 1]]
        ys, xs = [], []
        for b in bins:
            bx, by = int(b) % wide, int(b) // wide
            x0, y0 = grid["x0"] + bx * rebin, grid["y0"] + by * rebin
            x1, y1 = min(grid["x1"], x0 + rebin - 1), min(grid["y1"], y0 + rebin - 1)
            yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
            ys.append(yy.ravel())
            xs.append(xx.ravel())
        values = self._pixels[self._pixel_start[e]:self._pixel_start[e + 1]]
        if not ys:
            return np.zeros(0, int), np.zeros(0, int), values
        return np.concatenate(ys), np.concatenate(xs), values

    def image(self, serial: int, fill: float = float("nan")):
        """One event's kept pixels as a 2-D float32 picture (`fill` elsewhere)."""
        np = self._np
        y, x, values = self.roi(serial)
        picture = np.full((self.metadata["image"]["height"], self.metadata["image"]["width"]), fill, np.float32)
        picture[y, x] = values
        return picture

    def raw_pixels(self, serial: int, mean, sigma):
        """(y, x, raw ADC) of the kept pixels, given the pedestal map (mean, sigma) the file was
        cut with: the camera's own values, exactly."""
        np = self._np
        y, x, values = self.roi(serial)
        nsigma = self.metadata["reference"]["nsigma"]
        m = mean[y, x].astype(np.float64)
        cut = np.floor(m + (np.float32(nsigma) * sigma[y, x]).astype(np.float32).astype(np.float64))
        reference = np.minimum(np.floor(m + 0.5), cut).clip(0, None)
        return y, x, (reference + values).astype(np.int64)
