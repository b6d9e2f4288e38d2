"""ProtocolClient: the lower-level API of tfprotocol-client (``TfProtocol.client``)
over a tfp-client session: frames and units go through the Rust channel
(tfp-channel's cipher), never through Python code of the protocol."""

import struct
from typing import Optional, Union

from ..misc.constants import DFLT_MAX_BUFFER_SIZE, INT_SIZE
from ..models.exceptions import ErrorCode, TfException
from ..models.message import TfProtocolMessage, encode_value
from ..models.status_info import StatusInfo
from ..models.status_server_code import StatusServerCode
from ... import _errors


def _wrap(e: Exception) -> TfException:
    return TfException(exception=e, status_server_code=StatusServerCode.DISCONNECTED,
                       code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET, message=str(e))


class _Socket:
    """What the API exposes as ``client.socket``: timeouts, and reading the
    connection as it comes (to see EOF)."""

    def __init__(self, native, timeout: Optional[float]):
        self._n = native
        self.timeout = timeout

    def settimeout(self, t: Optional[float]) -> None:
        self.timeout = t
        self._n.set_timeout(t)

    def gettimeout(self) -> Optional[float]:
        return self.timeout

    def recv(self, n: int) -> bytes:
        try:
            return self._n.recv_socket(n)
        except _errors.LocalError as e:
            # OSError(errno, text) is the errno's own subclass (ConnectionResetError, ...), as a socket raises
            raise (OSError(e.code, str(e)) if e.code else OSError(str(e))) from e

    def recv_into(self, buf, n: int = 0) -> int:
        data = self.recv(n or len(buf))
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._n.close()


class ProtocolClient:
    """send / translate / just_send / just_recv / just_recv_int over the native session."""

    def __init__(self, native, max_buffer_size: int = DFLT_MAX_BUFFER_SIZE, keylen: int = 16,
                 timeout: Optional[float] = None):
        self._n = native
        self.max_buffer_size = max_buffer_size
        self.header_size = INT_SIZE
        self.verbosity_mode = False
        # The session key lives in Rust (tfp-channel) and is never handed to
        # Python: a placeholder of its length stands for it.
        self._session_key = bytes(keylen)
        self.socket = _Socket(native, timeout)

    @property
    def native(self):
        return self._n

    def get_sessionkey(self):
        return self._session_key

    def set_sessionkey(self, key: bytes):
        self._session_key = key

    session_key = property(get_sessionkey, set_sessionkey)

    def is_connect(self) -> bool:
        return not self._n.closed

    def exception_guard(self):
        if self._n.closed:
            raise TfException(status_server_code=StatusServerCode.DISCONNECTED,
                              code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET, message="not connected")

    def stop_connection(self):
        self._n.close()

    # --- sending ------------------------------------------------------------
    def send(self, message: Union[TfProtocolMessage, str, bytes], custom_header=None, header_size: int = None, **_):
        """One message: its length header (header_size bytes) and its payload,
        each enciphered as one unit, as the protocol frames them."""
        if not isinstance(message, TfProtocolMessage):
            message = TfProtocolMessage(message, custom_header=custom_header, header_size=header_size)
        self.exception_guard()
        try:
            if message.header_size == INT_SIZE and message.custom_header is None:
                self._n.send_frame(message.payload)
            else:
                self._n.send_units([message.header, message.payload])
        except _errors.Error as e:
            raise _wrap(e) from e

    def just_send(self, message, size: int = INT_SIZE, signed: bool = False, **_):
        """One unit: an int of `size` bytes, a string, bytes, or a message's payload."""
        self.exception_guard()
        if isinstance(message, TfProtocolMessage):
            data = message.payload
        elif isinstance(message, int) and not isinstance(message, bool):
            fmt = {1: "b", 2: "h", 4: "i", 8: "q"}[size]
            data = struct.pack(">" + (fmt if signed else fmt.upper()), message)
        else:
            data = encode_value(message)
        try:
            self._n.send_units([data])
        except _errors.Error as e:
            raise _wrap(e) from e

    # --- receiving ----------------------------------------------------------
    def just_recv(self, size: int = None) -> bytes:
        if not size:
            raise TfException(message="Bytes to receive not specified ...")
        try:
            return self._n.recv_unit(size)
        except _errors.Error as e:
            raise _wrap(e) from e

    def just_recv_int(self, size: int = INT_SIZE, signed: bool = False) -> int:
        return int.from_bytes(self.just_recv(size), "big", signed=signed)

    def just_recv_str(self, size: int) -> str:
        return self.just_recv(size).decode("utf-8")

    def recv(self, header_size=None, header_signed=True, parse_front_code_response=False) -> StatusInfo:
        self.exception_guard()
        try:
            frame = self._n.recv_frame()
        except _errors.Error as e:
            raise _wrap(e) from e
        return StatusInfo.build_status(len(frame), frame, parse_code=parse_front_code_response)

    def translate(self, message, custom_header=None, header_size: int = None, recv_header_signed=True,
                  parse_front_code_response=False, **_) -> StatusInfo:
        """One command and its reply frame (tfp-client's Client::raw)."""
        if not isinstance(message, TfProtocolMessage):
            message = TfProtocolMessage(message, custom_header=custom_header, header_size=header_size)
        self.exception_guard()
        if message.header_size != INT_SIZE or message.custom_header is not None:
            self.send(message)
            return self.recv()
        try:
            frame = self._n.raw(message.payload)
        except _errors.Error as e:
            raise _wrap(e) from e
        return StatusInfo.build_status(len(frame), frame, parse_code=parse_front_code_response)
