"""TransferStatus: what PUTCAN/GETCAN transfer handlers see."""


class TransferStatus:
    def __init__(self, client_command: int = None, server_command: int = None, handling_canpt: bool = False,
                 last_payload_size: int = 0) -> None:
        self.client_command = client_command
        self.server_command = server_command
        self.handling_canpt = handling_canpt
        self.last_payload_size = last_payload_size

    def copy(self):
        return TransferStatus(self.client_command, self.server_command, self.handling_canpt, self.last_payload_size)

    def __str__(self) -> str:
        return f"TransferStatus<{self.client_command}, {self.server_command}, {self.handling_canpt}>"

    __repr__ = __str__
