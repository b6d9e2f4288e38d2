"""TfProtocolMessage: a command's payload (and its length header)."""

import struct
from io import BytesIO
from typing import Optional, Union

from ..misc.constants import DFLT_HEADER_SIZE, INT_SIZE


def encode_value(value, size: int = DFLT_HEADER_SIZE, signed: bool = False) -> Optional[bytes]:
    """str as UTF-8, bytes as they are, bool as one byte, int big-endian in the
    smallest of 1/2/4/8 bytes that holds it and is at least `size`."""
    if isinstance(value, bool):
        return struct.pack(">?", value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, int):
        n = (value.bit_length() + 7) // 8
        for width, fmt in ((1, "b"), (2, "h"), (4, "i")):
            if n <= width and size <= width:
                return struct.pack(">" + (fmt if signed else fmt.upper()), value)
        return struct.pack(">" + ("q" if signed else "Q"), value)
    return None


class TfProtocolMessage:
    """Payload parts joined by spaces (separate_by_spaces), with a length header
    of `header_size` bytes (or `custom_header`)."""

    def __init__(self, *payloads, custom_header: Union[int, bytes, None] = None, header_signed: bool = True,
                 trim_body: bool = False, separate_by_spaces: bool = True, header_size: int = DFLT_HEADER_SIZE):
        self.custom_header = encode_value(custom_header, size=header_size or DFLT_HEADER_SIZE,
                                          signed=header_signed) if custom_header is not None else None
        self.body_buffer = BytesIO()
        self.header_size = header_size if header_size else DFLT_HEADER_SIZE
        self.header_signed = header_signed
        for i, e in enumerate(payloads):
            if separate_by_spaces and i != 0:
                self.add(b" ")
            self.add(e)
        self.trim_body = trim_body

    def add(self, payload, size: int = INT_SIZE, signed: bool = False, **_):
        if isinstance(payload, int) and not isinstance(payload, bool):
            self.body_buffer.write(encode_value(payload, size=size, signed=signed))
        else:
            self.body_buffer.write(encode_value(payload) or b"")
        return self

    @property
    def header(self) -> bytes:
        if self.custom_header is not None:
            return self.custom_header
        return encode_value(len(self.payload), size=self.header_size, signed=self.header_signed)

    @property
    def payload(self) -> bytes:
        v = self.body_buffer.getvalue()
        return v.strip(b" ") if self.trim_body else v

    def __iter__(self):
        yield self.header
        yield self.payload
