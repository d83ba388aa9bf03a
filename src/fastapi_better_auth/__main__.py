"""``python -m fastapi_better_auth``: the command line (``migrate``, ``migrate indexes``, ``check``).

A thin entry point; the commands live in :mod:`fastapi_better_auth._cli`.
"""

import sys

from ._cli.main import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
