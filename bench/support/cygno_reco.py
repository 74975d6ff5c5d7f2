"""A faithful numpy/scipy/scikit-learn implementation of CYGNO's camera reconstruction (DESIGN
section 7; the steps of CYGNO's own Python reconstruction), the baseline of npm run bench:pyreco.

usage: cygno_reco.py RUN.mid[.gz] PEDESTAL_MAP.bin [--out clusters.npz]

Reads the MIDAS file (gzip or plain) event by event, takes each CAM0 image and: hot pixels
(>= cimax) out; pedestal subtracted; zero suppression at nsigma*sigma; 4x4 rebinning; a 3x3
median filter picking the clustering points; DBSCAN (city-block metric, intensity as sample
weight, scikit-learn); each cluster grown by one bin; features on the full-resolution pixels
(integral, hits, principal axes, bounding box, rms). Prints the clusters found and the time.
"""

import gzip
import struct
import sys
import time

import numpy as np
from scipy import ndimage
from sklearn.cluster import DBSCAN

# CYGNO's defaults, as the gateway's RECO_PARAMETERS has them.
P = dict(nsigma=1.3, cimax=5000, rebin=4, point_threshold=25, eps=2, min_samples=4,
         weight_unit=25, min_hits=10, spark_mean=3.0, adc_per_kev=1700)


def pedestal_map(path):
    data = open(path, "rb").read()
    assert data[:8] == b"CYGPED01", "not a pedestal map"
    width, height = struct.unpack_from("<II", data, 8)
    n = width * height
    mean = np.frombuffer(data, "<f4", n, 24).reshape(height, width)
    sigma = np.frombuffer(data, "<f4", n, 24 + 4 * n).reshape(height, width)
    return mean, sigma


def camera_images(path):
    """The CAM0 images of a MIDAS file, as 2-D uint16 arrays."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        while True:
            header = f.read(16)
            if len(header) < 16:
                return
            event_id, _mask, _serial, _time, size = struct.unpack("<hHIII", header)
            data = f.read(size)
            if event_id & 0xFFFF in (0x8000, 0x8001, 0x8002) or event_id < 0:
                continue
            all_banks, flags = struct.unpack_from("<II", data, 0)
            head = {0x01: 8, 0x11: 12, 0x31: 16}[flags]
            at, end = 8, 8 + all_banks
            while at + head <= end:
                name = data[at:at + 4]
                kind, length = struct.unpack_from("<HH" if flags == 0x01 else "<II", data, at + 4)
                start = at + head
                if name == b"CAM0":
                    values = np.frombuffer(data, "<u2", length // 2, start)
                    side = int(np.sqrt(values.size))
                    yield values.reshape(side, side)
                at = start + ((length + 7) & ~7)


def reconstruct(image, mean, sigma):
    raw = image.astype(np.float32)
    hot = image >= P["cimax"]
    sub = np.where(hot, 0.0, raw - mean)
    hits = (~hot) & (raw > np.floor(mean + P["nsigma"] * sigma))
    if sub[~hot].mean() > P["spark_mean"]:
        return []  # a spark: not clustered
    zs = np.where(hits, sub, 0.0)
    r = P["rebin"]
    h, w = zs.shape
    rebinned = zs.reshape(h // r, r, w // r, r).sum(axis=(1, 3))
    filtered = ndimage.median_filter(rebinned, size=3, mode="nearest")
    ys, xs = np.nonzero(filtered > P["point_threshold"])
    if len(xs) == 0:
        return []
    weights = rebinned[ys, xs] / P["weight_unit"]
    labels = DBSCAN(eps=P["eps"], min_samples=P["min_samples"], metric="cityblock").fit(
        np.column_stack([xs, ys]), sample_weight=weights).labels_
    owner = -np.ones(rebinned.shape, dtype=np.int64)
    for label in range(labels.max() + 1):
        owner[ys[labels == label], xs[labels == label]] = label
    clusters = []
    for label in range(labels.max() + 1):
        core = owner == label
        grown = ndimage.binary_dilation(core, structure=np.ones((3, 3))) & ((owner == -1) | core)
        by, bx = np.nonzero(grown)
        region = np.zeros_like(zs, dtype=bool)
        for y0, x0 in zip(by * r, bx * r):
            region[y0:y0 + r, x0:x0 + r] = True
        core_pixels = np.zeros_like(region)
        for y0, x0 in zip(ys[labels == label] * r, xs[labels == label] * r):
            core_pixels[y0:y0 + r, x0:x0 + r] = True
        integral = sub[region].sum()
        hit = core_pixels & hits & (sub > P["nsigma"] * sigma)
        py, px = np.nonzero(hit)
        if len(px) < P["min_hits"]:
            continue
        wgt = sub[py, px]
        sw = wgt.sum()
        xm, ym = (wgt * px).sum() / sw, (wgt * py).sum() / sw
        cov = np.cov(np.vstack([px, py]), aweights=wgt)
        evals, evecs = np.linalg.eigh(cov)
        major = evecs[:, 1]
        along = (px - xm) * major[0] + (py - ym) * major[1]
        across = -(px - xm) * major[1] + (py - ym) * major[0]
        clusters.append(dict(
            integral=float(integral), nhits=len(px), size=int(region.sum()),
            length=float(along.max() - along.min() + 1), width=float(across.max() - across.min() + 1),
            theta=float(np.arctan2(major[1], major[0])), xMean=float(xm), yMean=float(ym),
            xMin=int(px.min()), xMax=int(px.max()), yMin=int(py.min()), yMax=int(py.max()),
            rms=float(wgt.std()), longitudinalRms=float(np.sqrt(np.average(along ** 2, weights=wgt))),
            transverseRms=float(np.sqrt(np.average(across ** 2, weights=wgt))),
            energy=float(integral / P["adc_per_kev"])))
    return clusters


def main():
    run, pedestal = sys.argv[1], sys.argv[2]
    start = time.perf_counter()
    mean, sigma = pedestal_map(pedestal)
    images = found = 0
    for image in camera_images(run):
        found += len(reconstruct(image, mean, sigma))
        images += 1
    print(f"{images} images, {found} clusters, {time.perf_counter() - start:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
