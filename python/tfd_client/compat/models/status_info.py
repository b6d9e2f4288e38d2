"""StatusInfo: a server reply as the tfprotocol-client API reports it."""

import re
from typing import Optional

from .status_server_code import StatusServerCode

_FAILED = re.compile(rb"^\s*(-?\d+)\s*(.*)$", re.S)


class StatusInfo:
    """status (StatusServerCode), code (the FAILED number, or the status's
    value), message (text, at most 1024 bytes shown) and payload (bytes)."""

    def __init__(self, status: StatusServerCode = None, opcode: int = None, sz: int = None, payload: bytes = b"",
                 code: int = 0, message: str = ""):
        self.status = status
        self.opcode = opcode
        self.payload = payload if payload else b""
        self.code = code
        self.sz = sz
        self.message = message

    @staticmethod
    def build_status(header: int, message: bytes, parse_code: bool = False) -> "StatusInfo":
        """A reply frame (`header` its length) as a StatusInfo:
        `OK <data>`, `CONT <data>`, `FAILED <n> : <text>`, `UNKNOWN`, anything else."""
        message = bytes(message)
        parts = re.split(rb"\s+", message, maxsplit=1)
        word = parts[0] if parts else b""
        rest = parts[1] if len(parts) > 1 else b""
        try:
            status = StatusServerCode[word.decode("ascii")] if word else None
        except (KeyError, UnicodeDecodeError):
            status = None
        code = header
        msg = rest
        if status is None:
            status, msg = StatusServerCode.UNKNOWN, message
        elif status is not StatusServerCode.FAILED:
            code = status.value
        else:
            m = _FAILED.match(rest)
            if m:
                code = int(m.group(1))
                msg = m.group(2).strip().replace(b": ", b"", 1)
                if msg.startswith(b":"):
                    msg = msg[1:].strip()
            else:
                code = status.value
        shown = msg[:1024] + b"..." if len(msg) > 1024 else msg
        return StatusInfo(status, code=code, message=shown.decode("utf-8", errors="replace"), payload=msg)

    @staticmethod
    def parse(rawmessage: Optional[str] = None, payload: Optional[bytes] = None) -> "StatusInfo":
        if rawmessage is None:
            return StatusInfo()
        st = StatusInfo.build_status(len(rawmessage), rawmessage.encode())
        st.payload = payload if payload else b""
        return st

    def __eq__(self, o: object) -> bool:
        return (isinstance(o, StatusInfo) and o.message == self.message and o.code == self.code
                and o.status == self.status and o.sz == self.sz and o.payload == self.payload)

    def __str__(self):
        name = self.status.name if self.status is not None else None
        return f'StatusInfo[{name}]<{self.code}, "{self.message}">'

    __repr__ = __str__
