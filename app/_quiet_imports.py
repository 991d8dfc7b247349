"""Silence one import-time warning of a dependency, before that dependency is first imported.

Connexion 3.3 imports ``starlette.testclient`` at module level (``connexion/apps/abstract.py``), only for
``App.test_client()``; Starlette ≥ 1.x warns there (``StarletteDeprecationWarning``) unless the ``httpx2``
package replaces ``httpx``. The server never uses the test client, so every ``idbb`` command and every
worker printed a warning about nothing it does. ``app/__init__.py`` imports this module before
``connexion``; the filter matches that one message only, so any other deprecation still shows.
"""

import warnings

from starlette.exceptions import StarletteDeprecationWarning

warnings.filterwarnings(
    "ignore", message=r"Using `httpx` with `starlette\.testclient` is deprecated", category=StarletteDeprecationWarning
)
