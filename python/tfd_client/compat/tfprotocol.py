"""TfProtocol: tfprotocol-client's command API (``*_command`` methods that
report through response handlers) over tfp-client.

Commands with a typed method in tfp-client (SNDFILE, RCVFILE, LS, LSR, PUT,
GET, PUTCAN, GETCAN, SUP, SDOWN, FSIZE, FSIZELS, FTYPE, FTYPELS, FSTATLS, INTREAD, INTWRITE,
NIGMA, END) run through it; one-frame commands go through its raw command
escape hatch (Client::raw) and their reply frame is reported as it came."""

import datetime as dt
import struct
from io import BytesIO
from typing import Callable, Union

from .. import _errors
from .misc.constants import DFLT_MAX_BUFFER_SIZE, EMPTY_HANDLER, INT_SIZE, KEY_LEN_INTERVAL, LONG_SIZE
from .models.exceptions import ErrorCode, TfException
from .models.file_stat import FileStat, FileStatTypeEnum
from .models.message import TfProtocolMessage
from .models.putget_commands import PutGetCommandEnum
from .models.status_info import StatusInfo
from .models.status_server_code import StatusServerCode
from .models.transfer_state import TransferStatus
from .tfprotocol_super import TfProtocolSuper, status_of

Date = dt.date
OK, FAILED, CONT = StatusServerCode.OK, StatusServerCode.FAILED, StatusServerCode.CONT


def _b(p) -> bytes:
    return p.encode() if isinstance(p, str) else bytes(p)


class _Source:
    """The stream putcan_command reads, its failures a TfException as the PyPI client raises."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, n: int) -> bytes:
        try:
            return self.stream.read(n)
        except Exception as e:
            raise TfException(exception=e) from e


class _Sink:
    """The sink getcan_command writes, its IOError a TfException as the PyPI client raises."""

    def __init__(self, sink):
        self.sink = sink

    def write(self, b: bytes):
        try:
            return self.sink.write(b)
        except IOError as e:
            raise TfException(exception=e) from e


class _Codes:
    """What put_command's transfer handler gets (tfprotocol-client's CodesSenderRecvr)."""

    def __init__(self):
        self.sent = None
        self.recveing_signal = False
        self.sending_signal = False
        self.block = True
        self.last_command = PutGetCommandEnum.HPFFIN.value
        self.last_header = PutGetCommandEnum.HPFFIN.value

    def send_put(self, command: int):
        if not self.block:
            self.sent = command
            self.last_command = command

    def send_get(self, command: int):
        pass


class TfProtocol(TfProtocolSuper):
    """The TF Protocol command API of tfprotocol-client 1.2.2."""

    def __init__(self, *args, **kwargs):
        if len(args) == 1 and isinstance(args[0], TfProtocolSuper):
            other = args[0]
            self.__dict__.update(other.__dict__)
            return
        super().__init__(*args, **kwargs)

    # --- helpers ------------------------------------------------------------
    @property
    def _n(self):
        self.client.exception_guard()
        return self.client.native

    def _t(self, *parts) -> StatusInfo:
        return self.client.translate(TfProtocolMessage(*parts))

    def _typed(self, fn, *args):
        """(result, None) or (None, the refusal as a StatusInfo)."""
        try:
            return fn(*args), None
        except _errors.Refused as e:
            return None, status_of(e)
        except _errors.Declined as e:
            return None, StatusInfo(FAILED, code=e.code, message=str(e.code))
        except _errors.Error as e:
            raise TfException(exception=e, status_server_code=StatusServerCode.DISCONNECTED,
                              code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET, message=str(e)) from e

    # --- one-frame commands ---------------------------------------------------
    def freesp_command(self, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate("FREESP"))

    def udate_command(self, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate("UDATE"))

    def ndate_command(self, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate("NDATE"))

    def echo_command(self, value: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("ECHO", value).message)

    def mkdir_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("MKDIR", path))

    def del_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("DEL", path))

    def rmdir_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("RMDIR", path))

    def copy_command(self, path_from: str, path_to: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("COPY", path_from, "|", path_to))

    def touch_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("TOUCH", path))

    def date_command(self, response_handler=EMPTY_HANDLER):
        r = self._t("DATE")
        response_handler(int(r.message), r)

    def datef_command(self, response_handler=EMPTY_HANDLER):
        r = self._t("DATEF")
        try:
            d = dt.datetime.strptime(r.message, "%Y-%m-%d %H:%M:%S")
        except ValueError as e:
            raise TfException(exception=e)
        response_handler(d, r)

    def dtof_command(self, timestamp: Union[int, float, str], response_handler=EMPTY_HANDLER):
        r = self._t("DTOF", str(timestamp))
        try:
            d = dt.datetime.strptime(r.message, "%Y-%m-%d %H:%M:%S")
        except ValueError as e:
            raise TfException(exception=e)
        response_handler(d, r)

    def ftod_command(self, formatted_date: str, response_handler=EMPTY_HANDLER):
        # as tfprotocol-client: the first value is the local clock in ms
        now = int((dt.datetime.now() - dt.datetime(1970, 1, 1)).total_seconds() * 1000)
        response_handler(now, self._t("FTOD", formatted_date))

    def fstat_command(self, path: str, response_handler=EMPTY_HANDLER):
        r = self._t("FSTAT", path)
        if r.status is OK:
            f = r.message.split(" ")
            response_handler(FileStat(FileStatTypeEnum.from_char(f[0][0], dflt=FileStatTypeEnum.UNKNOWN), int(f[1]),
                                      int(f[2]), int(f[3])) if f else None, r)
        else:
            response_handler(FileStat(FileStatTypeEnum.UNKNOWN, 0, 0, 0), r)

    def fupd_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("FUPD", path))

    def cpdir_command(self, path_from: str, path_to: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("CPDIR", path_from, "|", path_to))

    def xcopy_command(self, new_name: str, path: str, pattern: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("XCOPY", new_name, path, "|", pattern))

    def xdel_command(self, path: str, file_name: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("XDEL", path, file_name))

    def xrmdir_command(self, path: str, directory_name: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("XRMDIR", path, directory_name))

    def xcpdir_command(self, new_directory: str, path: str, destination_pattern: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("XCPDIR", new_directory, path, "|", destination_pattern))

    def lock_command(self, lock_filename: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("LOCK", lock_filename))

    def renam_command(self, path_dir: str, dir_newname: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("RENAM", path_dir, "|", dir_newname))

    def keepalive_command(self, is_on: bool, time_connection: int, interval: int, count: int,
                          response_handler=EMPTY_HANDLER):
        response_handler(self._t("KEEPALIVE", "1" if is_on else "0", str(time_connection), "|", str(interval), "|",
                                 str(count)))

    def login_command(self, user: str, passw: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("LOGIN", user, passw))

    def chmod_command(self, path_file: str, octal_mode: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("CHMOD", path_file, octal_mode))

    def chown_command(self, path_file: str, user: str, group: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("CHOWN", path_file, user, group))

    def sha256_command(self, path: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("SHA256", path))

    def prockey_command(self, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate("PROCKEY"))

    def injail_command(self, secure_token: str, pathtojail_directory: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("INJAIL", secure_token, "|", pathtojail_directory))

    def rmsd_command(self, secure_token: str, path_dir: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("RMSECDIR", secure_token, "|", path_dir))

    def tlb_command(self, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate("TLB"))

    def lsv2_command(self, path: str, path_file_to_store: str, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate(TfProtocolMessage("LSV2").add(" ").add(path).add("@||@")
                                               .add(path_file_to_store)))

    def lsrv2_command(self, path: str, path_file_to_store: str, response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate(TfProtocolMessage("LSRV2").add(" ").add(path).add("@||@")
                                               .add(path_file_to_store)))

    def addntfy_command(self, token: str, path_file_to_listen: str = "", response_handler=EMPTY_HANDLER):
        response_handler(self.client.translate(TfProtocolMessage("ADDNTFY").add(" ").add(token).add(" ")
                                               .add(path_file_to_listen)))

    def netlock_command(self, timeout, path_lock: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("NETLOCK", str(timeout), path_lock))

    def netlocktry_command(self, timeout, path_lock: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("NETLOCK_TRY", str(timeout), path_lock))

    def netunlock_command(self, lock_id: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("NETUNLOCK", lock_id))

    def netmutacqtry_command(self, path_mutex: str, token, response_handler=EMPTY_HANDLER):
        response_handler(self._t("NETMUTACQ_TRY", path_mutex, token))

    def netmutrel_command(self, path_mutex: str, token, response_handler=EMPTY_HANDLER):
        response_handler(self._t("NETMUTREL", path_mutex, token))

    def setfsid_command(self, secure_file_sys_identity: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("SETFSID", secure_file_sys_identity))

    def setfsperm_command(self, secid: str, permission_mask: int, path_secref_dir: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("SETFSPERM", f"{secid}:{permission_mask}", path_secref_dir))

    def remfsperm_command(self, secid: str, path_secref_dir: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("REMFSPERM", secid, path_secref_dir))

    def getfsperm_command(self, secid: str, path_secref_dir: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("GETFSPERM", secid, path_secref_dir))

    def issecfs_command(self, path_to_dir: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("ISSECFS", path_to_dir))

    def locksys_command(self, path_in_lock: str, response_handler=EMPTY_HANDLER):
        response_handler(self._t("LOCKSYS", path_in_lock))

    # --- typed through tfp-client ---------------------------------------------
    def end_command(self):
        """END, then the connection closes."""
        try:
            self.client.native.end()
        except _errors.Error:
            self.client.native.close()

    def sndfile_command(self, is_overriten: bool, path: str, stream: BytesIO, handler=EMPTY_HANDLER):
        """SNDFILE (tfp-client's sndfile): the handler sees CONT (the server's
        go-ahead), one CONT per data frame the server took (tfp-client sends
        frames of up to 524283 bytes), then the final OK; or the refusal alone."""
        data = stream.read()
        acks = []
        _, err = self._typed(self._n.sndfile_progress, _b(path), data, bool(is_overriten), acks.append)
        if err is not None:
            handler(is_overriten, path, err, stream)
            return
        handler(is_overriten, path, StatusInfo(CONT, code=CONT.value), stream)
        for _ in acks:
            handler(is_overriten, path, StatusInfo(CONT, code=CONT.value), stream)
        handler(is_overriten, path, StatusInfo(OK, code=OK.value), stream)

    def rcvfile_command(self, delete_after: bool, path: str, sink: BytesIO = None, handler=EMPTY_HANDLER):
        """RCVFILE (tfp-client's rcvfile): the handler sees one CONT carrying the
        file's bytes (payload; message its first 1024 as text), then OK; or the refusal."""
        data, err = self._typed(self._n.rcvfile, _b(path), bool(delete_after))
        if err is not None:
            handler(delete_after, path, err, sink)
            return
        if data:
            st = StatusInfo(CONT, code=CONT.value, payload=data,
                            message=(data[:1024] + (b"..." if len(data) > 1024 else b"")).decode("utf-8", "replace"))
            handler(delete_after, path, st, sink)
            if sink is not None:
                sink.write(data)
        handler(delete_after, path, StatusInfo(OK, code=OK.value), sink)

    def _listing(self, path, recursive, response_handler):
        data, err = self._typed(self._n.list_raw, _b(path), recursive)
        if err is not None:
            response_handler(err)
            return
        if data:
            response_handler(StatusInfo(CONT, code=CONT.value, payload=data,
                                        message=data[:1024].decode("utf-8", "replace")))
        response_handler(StatusInfo(OK, code=OK.value))

    def ls_command(self, path: str, response_handler=EMPTY_HANDLER):
        """LS (tfp-client's list): CONT with the listing, then OK; or the refusal."""
        self._listing(path, False, response_handler)

    def lsr_command(self, path: str, response_handler=EMPTY_HANDLER):
        self._listing(path, True, response_handler)

    def put_command(self, data_stream: BytesIO, path_file: str, offset: int, buffer_size: int,
                    response_handler=EMPTY_HANDLER, transfer_handler=EMPTY_HANDLER):
        """PUT (tfp-client's put) of the stream from `offset`, written at `offset`:
        the response handler sees OK with the buffer size (payload: as the
        server grants it), then OK with each chunk's length. The transfer
        handler is asked first whether to stop (code_sr.send_put(-1)) or cancel
        (-2) after the first chunk (tfp-client's put_cancel) when there is more
        than one chunk to send."""
        try:
            data_stream.seek(offset)
            data = data_stream.read()
        except (OverflowError, ValueError, OSError):
            data = b""  # the server refuses such an offset before any data
        codes = _Codes()
        if 0 < buffer_size < len(data):
            # more than one chunk: the handler may stop or cancel after the first
            codes.block = False
            transfer_handler(codes)
            codes.block = True
        if codes.sent is not None and offset == 0 and buffer_size > 0:
            first = data[:buffer_size]
            try:
                self._n.put_cancel(_b(path_file), buffer_size, first, codes.sent)
            except _errors.Refused as e:
                response_handler(status_of(e))
                return
            response_handler(StatusInfo(OK, code=buffer_size, payload=struct.pack(">q", buffer_size)))
            if first:
                response_handler(StatusInfo(OK, code=len(first)))
            transfer_handler(codes)
            return
        sizes = []
        last = [0]

        def progress(total):
            sizes.append(total - last[0])
            last[0] = total

        try:
            self._n.put_progress(_b(path_file), data, offset, buffer_size, progress)
        except _errors.Refused as e:
            response_handler(status_of(e))
            return
        except _errors.Error as e:
            raise TfException(exception=e, message=str(e)) from e
        response_handler(StatusInfo(OK, code=buffer_size, payload=struct.pack(">q", buffer_size)))
        for n in sizes:
            response_handler(StatusInfo(OK, code=n))
        transfer_handler(codes)

    def get_command(self, data_sink: BytesIO, path_file: str, offset: int, buffer_size: int,
                    response_handler=EMPTY_HANDLER, transfer_handler=EMPTY_HANDLER):
        """GET (tfp-client's get) from `offset` into the sink at `offset`: the
        response handler sees OK with the buffer size, OK with each chunk's
        length, OK 0 at the end, then OK -127 (HPFFIN)."""
        sizes = []
        last = [0]

        def progress(total):
            sizes.append(total - last[0])
            last[0] = total

        try:
            data = self._n.get_progress(_b(path_file), offset, buffer_size, progress)
        except _errors.Refused as e:
            response_handler(status_of(e))
            return
        except _errors.Error as e:
            raise TfException(exception=e, message=str(e)) from e
        response_handler(StatusInfo(OK, code=buffer_size, payload=struct.pack(">q", buffer_size)))
        data_sink.seek(offset)
        data_sink.write(data)
        for n in sizes:
            response_handler(StatusInfo(OK, code=n))
        response_handler(StatusInfo(OK, code=0))
        response_handler(StatusInfo(OK, code=PutGetCommandEnum.HPFFIN.value))

    def sup_command(self, path: str, data_stream: BytesIO, timeout: float):
        """SUP (tfp-client's sup): True when stored. The stream is read and
        sent a frame at a time, as the PyPI client does (never read whole);
        a stream that raises midway cancels the upload (-1: the server
        discards what came) and gives False, as there."""
        try:
            _, err = self._typed(self._n.sup_from, _b(path), data_stream)
        except TfException:
            raise
        except Exception:  # the stream failed: cancelled, the session goes on
            return False
        return err is None

    def sdown_command(self, path: str, data_sink: BytesIO, timeout: float):
        """SDOWN (tfp-client's sdown): True when the whole file came."""
        data, err = self._typed(self._n.sdown, _b(path))
        if err is not None:
            return False
        data_sink.write(data)
        return True

    def fsize_command(self, path_file: str, response_handler=EMPTY_HANDLER):
        size, err = self._typed(self._n.fsize, _b(path_file))
        if err is not None:
            response_handler(err)
        else:
            response_handler(StatusInfo(OK, code=size, message=str(size)))

    def _per_line(self, fn, path, end: int, each, response_handler):
        """The list commands as the PyPI client hands them: one status per
        line's value (FAILED for -1, `each` otherwise), then the end marker."""
        values, err = self._typed(fn, _b(path))
        if err is not None:
            response_handler(err)
            return
        for v in list(values) + [end]:
            response_handler(StatusInfo(each if v != -1 else FAILED, code=v, message=str(v)))

    def fsizels_command(self, path_file: str, response_handler=EMPTY_HANDLER):
        self._per_line(self._n.fsizels, path_file, -3, CONT, response_handler)

    def ftype_command(self, path: str, response_handler=EMPTY_HANDLER):
        t, err = self._typed(self._n.ftype, _b(path))
        if err is not None:
            response_handler(err)
        else:
            response_handler(StatusInfo(OK if t > -1 else FAILED, code=t, message=str(t)))

    def ftypels_command(self, path: str, response_handler=EMPTY_HANDLER):
        self._per_line(self._n.ftypels, path, -2, OK, response_handler)

    def fstatls_command(self, path: str, response_handler=EMPTY_HANDLER):
        recs, err = self._typed(self._n.fstatls, _b(path))
        if err is not None:
            response_handler(FileStat(FileStatTypeEnum.UNKNOWN, 0, 0, 0))
            return
        for r in recs:
            response_handler(FileStat.build_from_structure(r)[1])

    def intread_command(self, path: str, data_sink: BytesIO, response_handler=EMPTY_HANDLER):
        got, err = self._typed(self._n.intread, _b(path))
        if err is not None:
            response_handler(StatusInfo(FAILED, code=-1))
            return
        data, checksum = got
        data_sink.write(data)
        response_handler(StatusInfo(OK, code=len(data), message=bytes(checksum).decode()))

    def intwrite_command(self, path: str, data_stream: BytesIO, checksum: str, response_handler=EMPTY_HANDLER):
        _, err = self._typed(self._n.intwrite, _b(path), _b(checksum), data_stream.read())
        if err is not None:
            response_handler(StatusInfo(FAILED, code=err.code if isinstance(err.code, int) else -1))
        else:
            response_handler(StatusInfo(OK, code=0))

    def nigma_command(self, keylen: int, response_handler=EMPTY_HANDLER):
        """NIGMA (tfp-client's nigma): a new session key of `keylen` bytes; the
        key stays in Rust, the handler sees OK and a placeholder of its length."""
        if keylen % 4 != 0 or keylen < 8:
            raise TfException(code=-1, message="Invalid key length, key length must be multiple of 4 and greater "
                                               "or equals than 8...")
        _, err = self._typed(self._n.nigma, keylen)
        if err is not None:
            response_handler(err)
            return
        self.client.session_key = bytes(keylen)
        response_handler(StatusInfo(OK, message=str(self.client.session_key), payload=self.client.session_key))

    # --- the cancellation-point flows (tfp-client's putcan, getcan) ------------
    @staticmethod
    def _granted(grant: int) -> StatusInfo:
        """The `OK <i64 grant>` reply as the PyPI client hands it: code = the grant."""
        raw = struct.pack(">q", grant)
        return StatusInfo(OK, code=grant, payload=raw, message=raw.decode("utf-8", "replace"))

    def putcan_command(self, data_stream: BytesIO, path_file: str, offset: int, buffer_size: int, canpt: int,
                       response_handler=EMPTY_HANDLER, transfer_handler=EMPTY_HANDLER):
        """PUTCAN (tfp-client's putcan) of what the stream yields from where it
        is, written at `offset`. As the PyPI client: the response handler sees
        OK with the granted buffer as its code (nothing on a refusal); the
        transfer handler (client, TransferStatus) runs after each chunk
        (last_payload_size), at each cancellation point (handling_canpt, the
        server's -3 or -2 as server_command; after -2 the call returns), once
        the stream is exhausted (last_payload_size 0) and after the end code
        (client_command HPFEND). Setting client_command in it ends the upload
        after that chunk: HPFEND, HPFSTOP (file kept) or HPFCANCEL (file
        deleted). Unlike the PyPI client, a stop or cancel ends the call (it
        went on sending chunks the server took for commands) and the end code
        follows it only when the stream was exhausted."""
        offset, canpt = max(0, offset), max(0, canpt)
        cl = self.client
        ts = TransferStatus(server_command=PutGetCommandEnum.HPFCONT.value)
        ends = {PutGetCommandEnum.HPFEND.value: "end", PutGetCommandEnum.HPFSTOP.value: "stop",
                PutGetCommandEnum.HPFCANCEL.value: "cancel"}
        seen = {"granted": False, "at_end": False}

        def on(kind, n, _total):
            if kind == "granted":
                seen["granted"] = True
                response_handler(self._granted(n))
            elif kind == "window":
                ts.server_command, ts.handling_canpt = PutGetCommandEnum.HPFCONT.value, True
                transfer_handler(cl, ts)
                ts.handling_canpt = False
            else:  # a chunk sent, or the stream exhausted
                seen["at_end"] = kind == "data_end"
                ts.last_payload_size = n
                transfer_handler(cl, ts)
                return ends.get(ts.client_command)
            return None

        try:
            how, _ = self._n.putcan(_b(path_file), _Source(data_stream), offset, buffer_size, canpt, on)
        except _errors.Refused:
            return  # the PyPI client returns silently on FAILED
        except _errors.Cancelled:
            # the server's -2 at a window: a write failed there
            ts.server_command, ts.handling_canpt = PutGetCommandEnum.HPFCANCEL.value, True
            transfer_handler(cl, ts)
            return
        except _errors.ProtocolError as e:
            if not seen["granted"]:
                raise TfException(exception=e, message=str(e)) from e
            ts.server_command, ts.handling_canpt = None, True
            transfer_handler(cl, ts)
            raise TfException(status_server_code=FAILED, code=ErrorCode.CAN_PUT,
                              message="Some error ocurred while trying to handle canpt") from e
        except _errors.Error as e:
            raise TfException(exception=e, message=str(e)) from e
        if how in ("completed", "end") or seen["at_end"]:
            ts.client_command = PutGetCommandEnum.HPFEND.value
            transfer_handler(cl, ts)

    def getcan_command(self, data_sink: BytesIO, path_file: str, offset: int, buffer_size: int, canpt: int,
                       response_handler=EMPTY_HANDLER, transfer_handler=EMPTY_HANDLER):
        """GETCAN (tfp-client's getcan) from `offset` into the sink where it
        is. As the PyPI client: the response handler sees OK with the granted
        buffer as its code (nothing on a refusal); the transfer handler runs
        after each chunk is written (last_payload_size), at each cancellation
        point (handling_canpt, client_command preset to HPFCONT: anything else
        it sets stops the server, and the call returns) and at the end
        (server_command HPFEND, or HPFCANCEL when the server's read failed).
        Unlike the PyPI client, an answer other than HPFCONT or HPFCANCEL stops
        too (the server stops on it; the PyPI client waited for more)."""
        offset, canpt = max(offset, 0), max(canpt, 0)
        cl = self.client
        ts = TransferStatus()
        seen = {"granted": False}

        def on(kind, n, _total):
            if kind == "granted":
                seen["granted"] = True
                response_handler(self._granted(n))
            elif kind == "chunk":
                ts.last_payload_size = n
                transfer_handler(cl, ts)
            elif kind == "window":
                ts.client_command, ts.handling_canpt = PutGetCommandEnum.HPFCONT.value, True
                transfer_handler(cl, ts)
                if not ts.client_command:
                    ts.client_command = PutGetCommandEnum.HPFCONT.value
                if ts.client_command != PutGetCommandEnum.HPFCONT.value:
                    return "cancel"
                ts.handling_canpt = False
            return None

        try:
            how, _ = self._n.getcan(_b(path_file), _Sink(data_sink), offset, buffer_size, canpt, on)
        except _errors.Refused:
            return  # the PyPI client returns silently on FAILED
        except _errors.Cancelled:
            # the server's -2 in place of a chunk: its read failed
            ts.server_command = PutGetCommandEnum.HPFCANCEL.value
            transfer_handler(cl, ts)
            return
        except _errors.Error as e:
            raise TfException(exception=e, message=str(e)) from e
        if how == "completed":
            ts.server_command = PutGetCommandEnum.HPFEND.value
            transfer_handler(cl, ts)

    def startnfy_command(self, interval, response_handler=EMPTY_HANDLER):
        """STARTNTFY (tfp-client's notify::Notifications): the session is in
        notification mode from here on. The handler sees each notification
        as the PyPI client hands it, its frame ``<index> <name>`` as an OK
        status whose code is the frame's length, with ``send_ok`` and
        ``send_del`` to answer it (unanswered: kept). A refusal (no ADDNTFY:
        FAILED 6) is handed over as its frame's text and ends the call;
        otherwise it runs until the handler raises."""
        self._n.start_notifications(str(interval))
        while True:
            try:
                index, name = self._n.notification_wait()
                raw, refused = str(index).encode() + b" " + bytes(name), False
            except _errors.Refused as e:
                raw = (f"FAILED {e.code} : {e.text}" if e.code is not None else "UNKNOWN").encode()
                refused = True
            except _errors.Error as e:
                raise TfException(exception=e, status_server_code=StatusServerCode.DISCONNECTED,
                                  code=ErrorCode.ON_WRITE_OR_RECEIVE_TO_SOCKET, message=str(e)) from e
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            response_handler(StatusInfo(payload=raw, message=text, status=OK, code=len(raw), sz=len(raw)),
                             send_ok=lambda: self._n.notification_answer("keep"),
                             send_del=lambda: self._n.notification_answer("delete"))
            if refused:
                return
