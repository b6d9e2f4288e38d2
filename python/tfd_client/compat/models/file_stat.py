"""FileStat: FSTAT's and FSTATLS's answer."""

import struct
from datetime import datetime
from enum import Enum
from typing import Tuple, Union

from .exceptions import TfException


class FileStatTypeEnum(Enum):
    DIR = 0
    FILE = 1
    UNKNOWN = 2

    @staticmethod
    def from_char(bchar: str, dflt=None):
        for v in FileStatTypeEnum:
            if bchar and v.name.startswith(bchar):
                return v
        return dflt


class FileStat:
    def __init__(self, filestat_type: Union[int, str, FileStatTypeEnum], size: int, last_access: int,
                 last_modification: int) -> None:
        self.type = filestat_type
        self.size = size
        self.last_access = last_access
        self.last_modification = last_modification

    @property
    def last_modification_date(self):
        return datetime.fromtimestamp(self.last_modification) if self.last_modification else None

    @property
    def last_access_date(self):
        return datetime.fromtimestamp(self.last_access) if self.last_access else None

    def __str__(self) -> str:
        return (f"FileStat(type={self.type}, size={self.size}, last_access={self.last_access}, "
                f"last_mod={self.last_modification})")

    __repr__ = __str__

    @staticmethod
    def build_from_structure(fstatstruct: bytes) -> Tuple[int, "FileStat"]:
        """A 26-byte FSTATLS record: (code, FileStat)."""
        if len(fstatstruct) != 26:
            raise TfException(message="Invalid format of `fstathdr`...")
        code, kind, size, atime, mtime = struct.unpack(">bbQQQ", fstatstruct)
        return code, FileStat(kind, size, atime, mtime)
