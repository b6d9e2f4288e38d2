"""tfd_client.compat: a drop-in for the PyPI package tfprotocol-client 1.2.2.

Replace ``tfprotocol_client`` with ``tfd_client.compat`` in an application's
imports (``from tfd_client.compat.tfprotocol import TfProtocol``,
``tfd_client.compat.models.message.TfProtocolMessage``, ...). The same
``*_command`` methods call the same response handlers, but every command goes
through tfd's Rust client library (tfp-client): typed methods where it has
them, its raw command escape hatch for the others. The session uses the
protocol's legacy transport, as the PyPI client does.
"""
