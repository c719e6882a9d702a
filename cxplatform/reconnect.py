"""Records that must outlive a database restart: what was done outside the database (an email the
mail server accepted) or has to be told (an import that failed).

A PostgreSQL restart or failover kills every open connection, and Django reconnects only at the
start of the next request or task: every query on the dead connection fails until then. Such a
record is written again on a new connection for about half a minute, as long as a restart takes;
outside a transaction only (in one, the writes before it were lost with the connection). A
database still down after that raises, as before.
"""

import logging
import time

from django.db import InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

# Seconds between tries: 30 in all.
RECONNECT_PAUSES = (1, 2, 4, 8, 15)
# What a lost connection raises: the server ended it, refused a new one, or it was closed already.
CONNECTION_LOST = (OperationalError, InterfaceError)


def first_line(exc: BaseException) -> str:
    """The error's first line: a lost connection's message goes on with libpq's hints."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def written_after_reconnecting(write, *, what: str):
    """`write()`, tried again on a new connection while the database is unreachable; its result."""
    for pause in RECONNECT_PAUSES:
        try:
            return write()
        except CONNECTION_LOST as exc:
            if connection.in_atomic_block:
                raise
            logger.warning("Database unreachable while recording %s (%s): trying again in %s s",
                           what, first_line(exc), pause)
            connection.close()
            time.sleep(pause)
    return write()  # the last try: a database still down raises
