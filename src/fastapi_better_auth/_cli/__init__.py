"""The command line behind ``python -m fastapi_better_auth``: ``migrate`` and ``check``.

:mod:`.main` parses the arguments and runs the schema tooling (:mod:`fastapi_better_auth._schema`);
:mod:`.check` and :mod:`.check_tokens` print the ``check`` command's lines (:mod:`.lines`).
Above the runtime (``check`` builds a :class:`~fastapi_better_auth.BetterAuth`), framework-free.
"""
