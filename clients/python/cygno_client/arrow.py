"""A small Arrow IPC reader on numpy alone, for the gateway's exports where pyarrow is missing.

It reads the stream format (and the file format, whose body is a stream) with the types the
gateway writes: signed integers, float64, bool, utf8 and timestamps, each nullable, without
compression or dictionaries. Anything else raises ValueError naming it: install pyarrow then.
The message layout is the Arrow columnar format's (arrow.apache.org/docs/format/Columnar.html):
each message is a FlatBuffer `Message` (Schema or RecordBatch) followed by its body.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Dict, List, Optional, Tuple

import numpy

CONTINUATION = 0xFFFFFFFF
FILE_MAGIC = b"ARROW1"
SCHEMA, RECORD_BATCH = 1, 3
# Type union ids (Schema.fbs) and what the gateway writes of them.
INT, FLOATING_POINT, UTF8, BOOL, TIMESTAMP = 2, 3, 5, 6, 10
TIME_UNITS = {0: "s", 1: "ms", 2: "us", 3: "ns"}


class _Table:
    """A FlatBuffer table: fields by id through its vtable."""

    __slots__ = ("buf", "pos", "vtable", "vsize")

    def __init__(self, buf: memoryview, pos: int):
        self.buf = buf
        self.pos = pos
        (soffset,) = struct.unpack_from("<i", buf, pos)
        self.vtable = pos - soffset
        (self.vsize,) = struct.unpack_from("<H", buf, self.vtable)

    def _offset(self, field: int) -> int:
        at = 4 + 2 * field
        if at >= self.vsize:
            return 0
        return struct.unpack_from("<H", self.buf, self.vtable + at)[0]

    def scalar(self, field: int, fmt: str, default=0):
        off = self._offset(field)
        return struct.unpack_from(fmt, self.buf, self.pos + off)[0] if off else default

    def _target(self, field: int) -> Optional[int]:
        off = self._offset(field)
        if not off:
            return None
        at = self.pos + off
        return at + struct.unpack_from("<I", self.buf, at)[0]

    def table(self, field: int) -> Optional["_Table"]:
        target = self._target(field)
        return None if target is None else _Table(self.buf, target)

    def string(self, field: int) -> Optional[str]:
        target = self._target(field)
        if target is None:
            return None
        (length,) = struct.unpack_from("<I", self.buf, target)
        return bytes(self.buf[target + 4 : target + 4 + length]).decode("utf-8")

    def vector(self, field: int) -> Tuple[int, int]:
        """(start of the elements, count)."""
        target = self._target(field)
        if target is None:
            return 0, 0
        return target + 4, struct.unpack_from("<I", self.buf, target)[0]

    def tables(self, field: int) -> List["_Table"]:
        start, count = self.vector(field)
        out = []
        for i in range(count):
            at = start + 4 * i
            out.append(_Table(self.buf, at + struct.unpack_from("<I", self.buf, at)[0]))
        return out


class Field:
    """One column of the schema: name, nullability and the numpy form of its type."""

    def __init__(self, table: _Table):
        self.name = table.string(0) or ""
        self.nullable = bool(table.scalar(1, "<B"))
        type_id = table.scalar(2, "<B")
        spec = table.table(3)
        if type_id == INT:
            bits, signed = spec.scalar(0, "<i"), bool(spec.scalar(1, "<B"))
            self.kind, self.dtype = "int", numpy.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
        elif type_id == FLOATING_POINT:
            precision = spec.scalar(0, "<h")
            self.kind, self.dtype = "float", numpy.dtype({0: "<f2", 1: "<f4", 2: "<f8"}[precision])
        elif type_id == BOOL:
            self.kind, self.dtype = "bool", numpy.dtype(bool)
        elif type_id == UTF8:
            self.kind, self.dtype = "utf8", numpy.dtype(object)
        elif type_id == TIMESTAMP:
            unit = TIME_UNITS[spec.scalar(0, "<h")]
            self.kind, self.dtype = "timestamp", numpy.dtype(f"datetime64[{unit}]")
            self.timezone = spec.string(1)
        else:
            raise ValueError(f"column {self.name}: Arrow type {type_id} is not read without pyarrow")


class Column:
    """A column's values (numpy) and, when it has nulls, a mask (True where null)."""

    def __init__(self, values: numpy.ndarray, mask: Optional[numpy.ndarray]):
        self.values = values
        self.mask = mask


def _read_exact(source: BinaryIO, n: int) -> bytearray:
    """n bytes, into a buffer of their own: writable, so the arrays over it are too."""
    data = bytearray(n)
    view = memoryview(data)
    got = 0
    while got < n:
        more = source.readinto(view[got:]) if hasattr(source, "readinto") else None
        if more is None:
            chunk = source.read(n - got)
            more = len(chunk)
            view[got : got + more] = chunk
        if not more:
            raise ValueError(f"the Arrow stream ends early (wanted {n} bytes, got {got})")
        got += more
    return data


def _message_at(head: bytes, read) -> Optional[Tuple[_Table, bytes]]:
    """The message whose first 8 bytes are `head` (its metadata and body read with `read(n)`);
    None at the end-of-stream marker."""
    (marker,) = struct.unpack_from("<I", head, 0)
    if marker == CONTINUATION:
        (size,) = struct.unpack_from("<i", head, 4)
        prefix = b""
    else:  # the pre-0.15 format: the size alone
        size, prefix = marker, head[4:8]
    if size == 0:
        return None
    metadata = prefix + read(size - len(prefix))
    message = _Table(memoryview(metadata), struct.unpack_from("<I", metadata, 0)[0])
    body_length = message.scalar(3, "<q")
    return message, (read(body_length) if body_length else b"")


def _stream_messages(source: BinaryIO, head: bytes):
    """The messages of a stream until its end-of-stream marker (or its end)."""
    while True:
        found = _message_at(head, lambda n: _read_exact(source, n))
        if found is None:
            return
        yield found
        try:
            head = _read_exact(source, 8)
        except ValueError:
            return  # a stream that stops without the marker after a whole message


def _file_messages(data: bytes):
    """The file format: the schema in the footer, record batches where its blocks say (writers
    need not repeat the schema as a message; Arrow JS does not)."""
    if len(data) < 12 or data[-6:] != FILE_MAGIC:
        raise ValueError("not an Arrow file: no closing magic")
    (footer_size,) = struct.unpack_from("<i", data, len(data) - 10)
    footer_start = len(data) - 10 - footer_size
    view = memoryview(data)
    footer = _Table(view, footer_start + struct.unpack_from("<I", data, footer_start)[0])
    yield SCHEMA, footer.table(1), b""
    start, count = footer.vector(3)
    for i in range(count):
        offset, _metadata_length, _pad, _body_length = struct.unpack_from("<qiiq", data, start + 24 * i)
        at = [offset + 8]

        def read(n, at=at):
            chunk = data[at[0] : at[0] + n]
            at[0] += n
            return chunk

        message, body = _message_at(data[offset : offset + 8], read)
        yield message.scalar(1, "<B"), message.table(2), body


def _messages(source: BinaryIO):
    """(header type, header table, body) of each message of a stream or a file."""
    first = _read_exact(source, 8)
    if first.startswith(FILE_MAGIC):
        yield from _file_messages(bytes(first) + source.read())
        return
    for message, body in _stream_messages(source, first):
        yield message.scalar(1, "<B"), message.table(2), body


def _validity(body: bytes, offset: int, length: int, count: int, null_count: int):
    if null_count == 0 or length == 0:
        return None
    bits = numpy.frombuffer(body, dtype=numpy.uint8, count=length, offset=offset)
    return ~numpy.unpackbits(bits, bitorder="little", count=count).astype(bool)


def _column(field: Field, count: int, null_count: int, buffers, body: bytes) -> Column:
    (vo, vl), rest = buffers[0], buffers[1:]
    mask = _validity(body, vo, vl, count, null_count)
    if field.kind == "bool":
        (o, l) = rest[0]
        bits = numpy.frombuffer(body, dtype=numpy.uint8, count=l, offset=o)
        values = numpy.unpackbits(bits, bitorder="little", count=count).astype(bool)
    elif field.kind == "utf8":
        (oo, _), (do, dl) = rest[0], rest[1]
        offsets = numpy.frombuffer(body, dtype="<i4", count=count + 1, offset=oo)
        data = body[do : do + dl]
        values = numpy.array(
            [data[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(count)], dtype=object
        )
    else:
        (o, _) = rest[0]
        raw_dtype = numpy.dtype("<i8") if field.kind == "timestamp" else field.dtype
        values = numpy.frombuffer(body, dtype=raw_dtype, count=count, offset=o)
        if field.kind == "timestamp":
            values = values.view(field.dtype)
    return Column(values, mask)


def read_stream(source: BinaryIO) -> Tuple[List[Field], Dict[str, Column]]:
    """Reads a whole Arrow IPC stream (or file) from a binary file-like object: the schema's
    fields and each column, its batches joined."""
    fields: Optional[List[Field]] = None
    parts: Dict[str, List[Column]] = {}
    for header_type, header, body in _messages(source):
        if header_type == SCHEMA:
            fields = [Field(t) for t in header.tables(1)]
            parts = {f.name: [] for f in fields}
        elif header_type == RECORD_BATCH:
            if fields is None:
                raise ValueError("an Arrow record batch before the schema")
            if header.table(3) is not None:
                raise ValueError("compressed Arrow batches are not read without pyarrow")
            length = header.scalar(0, "<q")
            node_start, _ = header.vector(1)
            buffer_start, _ = header.vector(2)
            buffer_index = 0
            for i, field in enumerate(fields):
                count, null_count = struct.unpack_from("<qq", header.buf, node_start + 16 * i)
                if count != length:
                    raise ValueError(f"column {field.name} has {count} rows in a batch of {length}")
                n = 3 if field.kind == "utf8" else 2
                buffers = [
                    struct.unpack_from("<qq", header.buf, buffer_start + 16 * (buffer_index + k))
                    for k in range(n)
                ]
                buffer_index += n
                parts[field.name].append(_column(field, count, null_count, buffers, body))
        else:
            raise ValueError(f"Arrow message type {header_type} is not read without pyarrow")
    if fields is None:
        raise ValueError("not an Arrow stream: no schema")
    columns = {}
    for field in fields:
        chunks = parts[field.name]
        if not chunks:
            columns[field.name] = Column(numpy.empty(0, dtype=field.dtype), None)
            continue
        values = numpy.concatenate([c.values for c in chunks]) if len(chunks) > 1 else chunks[0].values
        masks = [c.mask for c in chunks]
        mask = None
        if any(m is not None for m in masks):
            mask = numpy.concatenate(
                [m if m is not None else numpy.zeros(len(c.values), dtype=bool) for m, c in zip(masks, chunks)]
            )
        columns[field.name] = Column(values, mask)
    return fields, columns
