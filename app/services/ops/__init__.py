"""Running the service: readiness, Prometheus metrics, start-up checks, the ``idbb demo`` data and the
GovStack compliance sandbox's fixtures.

May import: any capability package through its public names (it sets up, seeds and checks them); no
capability imports ``ops`` except ``wallet`` for ``ops.sandbox``'s fixed transaction ids.
``tests/contract/test_layering.py`` checks it.
"""
