"""The HPF (PUT/GET) control codes."""

from enum import Enum


class PutGetCommandEnum(Enum):
    HPFEND = 0
    HPFSTOP = -1
    HPFCANCEL = -2
    HPFCONT = -3
    HPFFIN = -127
