"""Push invalidation: cache-drop events from PostgreSQL ``NOTIFY`` and Redis keyspace events.

Framework-free; ``freshness="push"`` wires it (``_push_start``, ``_push_cache``). :mod:`.events` holds the typed events and the
payload parser, :mod:`.sql` the triggers ``migrate notify`` installs (and their catalog check),
:mod:`.postgres` and :mod:`.redis` the listeners. A listener calls ``on_event`` with
:class:`UserChanged`, :class:`SessionChanged` or :class:`Reset` ("drop everything", sent on every
(re)connect and after any payload it cannot read) and says through ``trustworthy`` whether a
cache may rely on it right now (False while disconnected: check every request as ``always``).
"""

from .events import Event, Reset, SessionChanged, UserChanged

__all__ = ["Event", "Reset", "SessionChanged", "UserChanged"]
