"""TfProtocolSuper: connecting and disconnecting, as tfprotocol-client's."""

from typing import Callable, Optional, Union

from .. import _errors, _native
from .connection.protocol_client import ProtocolClient
from .misc.constants import DFLT_MAX_BUFFER_SIZE, EMPTY_HANDLER, KEY_LEN_INTERVAL
from .models.exceptions import ErrorCode, TfException
from .models.status_info import StatusInfo
from .models.status_server_code import StatusServerCode


def status_of(e: Exception) -> StatusInfo:
    """A tfd_client error as the StatusInfo the PyPI client would have reported."""
    code = getattr(e, "code", None)
    text = getattr(e, "text", "") or ""
    if isinstance(e, _errors.UnknownCommand) or (isinstance(e, _errors.HandshakeError) and code is None):
        return StatusInfo(StatusServerCode.UNKNOWN, code=StatusServerCode.UNKNOWN.value, message="")
    if isinstance(e, (_errors.Refused, _errors.HandshakeError)):
        return StatusInfo(StatusServerCode.FAILED, code=code, message=text, payload=text.encode())
    return StatusInfo(StatusServerCode.DISCONNECTED, code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET.value,
                      message=str(e))


class TfProtocolSuper:
    """Holds the connection parameters; connect() runs tfp-client's handshake
    (version, RSA session key, hash) on the legacy transport."""

    def __init__(self, protocol_version: str, public_key: str, client_hash: Union[str, bytes], address: str,
                 port: int, proxy=None, keylen: int = KEY_LEN_INTERVAL[0], channel_len: int = DFLT_MAX_BUFFER_SIZE,
                 verbosity_mode: bool = False) -> None:
        assert isinstance(port, int), f"Port argument must be an integer: {port} given"
        assert isinstance(protocol_version, str), f"Protocol Version must be a string: {protocol_version} given"
        if proxy is not None:
            raise TfException(message="tfd_client.compat does not support SOCKS proxies",
                              code=ErrorCode.ILLEGAL_ARGUMENTS)
        self.verbosity_mode = verbosity_mode
        self._protocol_version = protocol_version
        self._public_key = public_key
        self._client_hash = client_hash.decode() if isinstance(client_hash, bytes) else client_hash
        self._address = address
        self._port = port
        self._len_channel = channel_len if channel_len is not None else 512 * 1024
        self._keybyteslen = keylen if KEY_LEN_INTERVAL[0] <= keylen <= KEY_LEN_INTERVAL[1] else KEY_LEN_INTERVAL[0]
        self._proto_client: Optional[ProtocolClient] = None
        self._call_kwargs = None

    def _connect(self, on_response=EMPTY_HANDLER) -> StatusInfo:
        pem = self._public_key.encode() if isinstance(self._public_key, str) else bytes(self._public_key)
        host = self._address
        server = f"[{host}]:{self._port}" if ":" in host else f"{host}:{self._port}"
        try:
            native = _native.connect(server, self._client_hash, key_pem=pem, transport="legacy",
                                     proto=self._protocol_version, key_len=self._keybyteslen, timeout=None)
        except _errors.Error as e:
            return status_of(e)
        self._proto_client = ProtocolClient(native, max_buffer_size=self._len_channel, keylen=self._keybyteslen)
        return StatusInfo(StatusServerCode.OK)

    def connect(self, keepalive_options=None, on_response=EMPTY_HANDLER, on_connect: Callable = EMPTY_HANDLER):
        """Connects and runs the handshake: True, or on_response(the refusal)
        and a TfException."""
        st = self._connect()
        if st.status is StatusServerCode.OK:
            on_connect(self)
            return True
        on_response(st)
        raise TfException(status_server_code=StatusServerCode.DISCONNECTED,
                          code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET,
                          message=f"Cannot successfully connect to the server {st}")

    def disconnect(self):
        if self._proto_client is not None:
            self._proto_client.stop_connection()

    def get_len_channel(self) -> int:
        return self._len_channel

    def set_len_channel(self, value: int):
        self._len_channel = value

    len_channel = property(get_len_channel, set_len_channel)

    @property
    def client(self) -> ProtocolClient:
        return self._proto_client

    def __call__(self, **kwargs):
        self._call_kwargs = kwargs
        return self

    def __enter__(self):
        kw = self._call_kwargs or {}
        self.connect(kw.get("keepalive_options"), kw.get("on_response") or EMPTY_HANDLER,
                     kw.get("on_connect") or EMPTY_HANDLER)
        return self

    def __exit__(self, *_):
        self.disconnect()
