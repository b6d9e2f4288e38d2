"""TfException: the error the tfprotocol-client API raises."""

from enum import Enum
from typing import Optional, Union

from .status_info import StatusInfo
from .status_server_code import StatusServerCode


class ErrorCode(Enum):
    ON_WRITE_OR_RECEIVE_TO_SOCKET = 0
    ILLEGAL_ARGUMENTS = 1
    UNHANDLED_EXCEPTION = 2
    CAN_PUT = 3


class TfException(Exception):
    """Carries a StatusInfo (`status_info`) and the exception it wraps, if any."""

    def __init__(self, *args, exception: Optional[Exception] = None, message: Optional[str] = None,
                 status_info: Optional[StatusInfo] = None, status_server_code: Optional[StatusServerCode] = None,
                 code: Union[int, ErrorCode, None] = None) -> None:
        super().__init__(*args, message)
        self.status_info = status_info if status_info else StatusInfo(status=StatusServerCode.FAILED)
        self.original_exception = exception
        if exception:
            self.status_info.code = hash(exception)
            self.status_info.message = str(exception)
        if status_server_code:
            self.status_info.status = status_server_code
        if message:
            self.status_info.message = message
        if code:
            self.status_info.code = code.value if isinstance(code, ErrorCode) else code

    @property
    def payload(self):
        if self.status_info.payload is not None:
            return self.status_info.payload
        return self.status_info.message.encode()

    def __str__(self) -> str:
        s = self.status_info
        return f"\n{'-' * 50}\n{s.status}\n{s.code}\n{s.message}\n{'-' * 50}\n"
