"""The admin API's core: users and their sessions, read, changed and audited, without FastAPI.

One module per job, each usable from a worker or a CLI: ``schemas`` (request and response
bodies), ``cursor`` (the list's opaque position), ``listing`` (a page of users, one user),
``writes`` (profile, roles, bans), ``sessions`` (list and revoke a user's sessions) and
``audit`` (one log line per action). Who counts as an admin, and whether a change would leave
none, is :mod:`fastapi_better_auth._policy`'s. The HTTP routes over these live in
``_router`` (``users``, ``sessions``), next to the library's other routes and route class.
"""
