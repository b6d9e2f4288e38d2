"""ProxyOptions (accepted for compatibility; not supported: a proxy raises)."""


class ProxyOptions:
    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs
