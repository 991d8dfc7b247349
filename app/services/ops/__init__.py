"""Running the service: readiness, Prometheus metrics, start-up checks, the ``idbb demo`` data and the
GovStack compliance sandbox's fixtures.

May import: anything in ``app.services`` through public names (it sets up and seeds the other capabilities);
no capability package imports ``ops`` except ``wallet`` for ``ops.sandbox``'s fixed transaction ids.
"""
