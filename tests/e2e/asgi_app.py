"""The ASGI adapter as uvicorn serves it in the end-to-end tests (``--factory asgi_app:create``)."""

from __future__ import annotations

import os
from typing import Any

from pyregistry_asgi import make_app

from pyregistry_core import Registry

CONFIG_VARIABLE = "PYREGISTRY_E2E_CONFIG"


def create() -> Any:
    """An ASGI app for the registry configured by the INI file named in the environment."""
    return make_app(Registry.from_config(os.environ[CONFIG_VARIABLE]))
