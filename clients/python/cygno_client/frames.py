"""DataFrames of clusters and events, with the same columns and dtypes whichever way the rows
came: the gateway's Arrow export (read by pyarrow, or by the numpy reader in `arrow.py`) or
its GraphQL pages."""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy

# (name, type, nullable): the gateway's export columns (src/export/columns.ts), in its order.
CLUSTER_COLUMNS: List[Tuple[str, str, bool]] = [
    ("id", "int64", False),
    ("runNumber", "int32", False),
    ("recoVersion", "int32", False),
    ("eventId", "int64", False),
    ("serial", "int64", False),
    ("integral", "float64", False),
    ("energy", "float64", True),
    ("nhits", "int32", False),
    ("size", "int32", False),
    ("length", "float64", False),
    ("width", "float64", False),
    ("theta", "float64", False),
    ("xMean", "float64", False),
    ("yMean", "float64", False),
    ("xMin", "int32", False),
    ("xMax", "int32", False),
    ("yMin", "int32", False),
    ("yMax", "int32", False),
    ("rms", "float64", False),
    ("longitudinalRms", "float64", False),
    ("transverseRms", "float64", False),
]
EVENT_COLUMNS: List[Tuple[str, str, bool]] = [
    ("id", "int64", False),
    ("runNumber", "int32", False),
    ("recoVersion", "int32", True),
    ("eventId", "int32", False),
    ("serial", "int64", False),
    ("timestamp", "timestamp", False),
    ("triggerMask", "int32", False),
    ("fileOffset", "int64", False),
    ("sizeBytes", "int32", False),
    ("bankNames", "utf8", False),
    ("clusterCount", "int32", True),
    ("imageIntegral", "float64", True),
    ("imageMean", "float64", True),
    ("imageRms", "float64", True),
    ("spark", "bool", True),
]
CATALOGS = {"clusters": CLUSTER_COLUMNS, "events": EVENT_COLUMNS}

# pandas dtype per (type, nullable): nullable integers and booleans as pandas' masked arrays, so
# a column's dtype never depends on whether this particular selection happened to hold a null.
PANDAS_DTYPES = {
    ("int32", False): "int32",
    ("int32", True): "Int32",
    ("int64", False): "int64",
    ("int64", True): "Int64",
    ("float64", False): "float64",
    ("float64", True): "float64",
    ("bool", False): "bool",
    ("bool", True): "boolean",
    ("utf8", False): "object",
    ("utf8", True): "object",
    ("timestamp", False): "datetime64[ns, UTC]",
    ("timestamp", True): "datetime64[ns, UTC]",
}


def select(kind: str, columns: Optional[Sequence[str]]) -> List[Tuple[str, str, bool]]:
    catalog = CATALOGS[kind]
    if not columns:
        return list(catalog)
    by_name = {c[0]: c for c in catalog}
    unknown = [c for c in columns if c not in by_name]
    if unknown:
        raise ValueError(f"unknown {kind} column(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[c] for c in dict.fromkeys(columns)]


def _array(pandas, kind: str, nullable: bool, values: numpy.ndarray, mask: Optional[numpy.ndarray]):
    """One column as an array of its catalogued dtype (numpy, or pandas' masked and time arrays);
    `mask` is True where null. Copies only where the dtype or a null asks for it."""
    if kind in ("int32", "int64"):
        values = numpy.asarray(values, dtype=kind)
        if nullable:
            return pandas.arrays.IntegerArray(values, numpy.zeros(len(values), bool) if mask is None else mask)
        return values
    if kind == "float64":
        values = numpy.asarray(values, dtype="float64")
        if mask is not None:
            values = values.copy()
            values[mask] = numpy.nan
        return values
    if kind == "bool":
        values = numpy.asarray(values, dtype=bool)
        if nullable:
            return pandas.arrays.BooleanArray(values, numpy.zeros(len(values), bool) if mask is None else mask)
        return values
    if kind == "timestamp":
        return pandas.to_datetime(numpy.asarray(values).astype("datetime64[ns]")).tz_localize("UTC").array
    values = numpy.array(values, dtype=object)
    if mask is not None:
        values[mask] = None
    return values


def frame_from_columns(kind: str, selected, columns: Dict[str, Tuple[numpy.ndarray, Optional[numpy.ndarray]]], polars: bool = False):
    """A DataFrame from column name -> (values, null mask), over the arrays as they are (no copy
    of a million-row column that already has its dtype)."""
    import pandas

    data = {name: _array(pandas, t, nullable, *columns[name]) for name, t, nullable in selected}
    frame = pandas.DataFrame(data, columns=[name for name, _, _ in selected], copy=False)
    if polars:
        import polars as pl  # only this needs polars

        return pl.from_pandas(frame)
    return frame


def columns_from_numpy_arrow(columns) -> Dict[str, Tuple[numpy.ndarray, Optional[numpy.ndarray]]]:
    """The numpy reader's columns (arrow.read_stream) as (values, mask)."""
    return {name: (c.values, c.mask) for name, c in columns.items()}


def columns_from_pyarrow(table) -> Dict[str, Tuple[numpy.ndarray, Optional[numpy.ndarray]]]:
    """A pyarrow Table's columns as (values, mask), nulls filled so numeric arrays stay numeric."""
    import pyarrow.compute as pc
    import pyarrow.types as types

    out = {}
    for name in table.column_names:
        column = table.column(name)
        mask = None
        if column.null_count:
            mask = pc.is_null(column).to_numpy(zero_copy_only=False)
            if not types.is_string(column.type):
                column = column.fill_null(False if types.is_boolean(column.type) else 0)
        out[name] = (column.to_numpy(zero_copy_only=False), mask)
    return out


def _plain(name: str, kind: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "bankNames":
        return ",".join(value)
    if kind == "int64":
        return int(value)  # GraphQL IDs are strings
    if kind == "timestamp":
        return numpy.datetime64(value.rstrip("Z"), "ms")
    return value


def columns_from_rows(selected, rows: Iterable[Dict[str, Any]]) -> Dict[str, Tuple[numpy.ndarray, Optional[numpy.ndarray]]]:
    """GraphQL nodes (dicts) as (values, mask) per column."""
    rows = list(rows)
    out = {}
    for name, kind, _ in selected:
        raw = [_plain(name, kind, row.get(name)) for row in rows]
        mask = numpy.array([v is None for v in raw], dtype=bool)
        fill = {"timestamp": numpy.datetime64(0, "ms"), "utf8": None, "bool": False}.get(kind, 0)
        values = [fill if v is None else v for v in raw]
        dtype = {"timestamp": "datetime64[ms]", "utf8": object, "bool": bool}.get(kind, kind)
        out[name] = (numpy.array(values, dtype=dtype), mask if mask.any() else None)
    return out
