"""KeepAliveOptions (accepted for compatibility; tfd's TCP keepalive is set
with keepalive_command)."""


class KeepAliveOptions:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
