"""Schema tooling and start-up checks, apart from the runtime core.

What Better-Auth's database must look like and how to make it so: the shipped Alembic
migrations (:mod:`.migrate`, ``migrations/``), the opt-in list indexes (:mod:`.indexes`), the
catalog reader and the schema check (:mod:`.catalog`, :mod:`.diagnosis`, :mod:`.tables`,
:mod:`.report`), and the checks ``BetterAuth.start`` runs (:mod:`.start`, the only module the
runtime imports). Framework-free: no FastAPI or Starlette here.
"""
