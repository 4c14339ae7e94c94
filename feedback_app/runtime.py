"""A guard against a memory-safety bug of CPython 3.11, applied once at start-up.

On CPython 3.11 the cyclic garbage collector can run in the middle of the C code that stores an attribute
on an object whose attribute dict does not exist yet (the allocation of that dict may start a collection).
If the collection frees a mapped object whose SQLAlchemy InstanceState is the very object being written to,
the state's weakref callback (InstanceState._cleanup) writes to that same state meanwhile, freeing memory
the outer store then keeps using: the heap is corrupted and a worker dies later, anywhere (seen as SIGSEGV
under gunicorn's threaded workers; threads only change the timing). SQLAlchemy writes `session_id` and
`_strong_obj` on states when a session closes, for objects that only a reference cycle keeps alive.
CPython 3.12 no longer collects there (tests/test_runtime.py reproduces both in a few milliseconds).

The guard gives every InstanceState its attribute dict when it is created, while its object is certainly
alive: later writes then only replace or add keys of an existing dict, which allocate nothing the collector
can be started by. Nothing changes on Python 3.12 and later.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from sqlalchemy.orm.state import InstanceState

NEEDED = sys.version_info < (3, 12)
_MARK = "_feedback_app_dict_made_at_init"


def guard_instance_states() -> bool:
    """Make InstanceState create its dict in __init__ (CPython 3.11 only); True when the guard is on."""
    if not NEEDED or os.environ.get("FEEDBACK_APP_NO_RUNTIME_GUARD") == "1":  # the latter: bench/soak.py only
        return False
    if getattr(InstanceState, _MARK, False):
        return True
    original = InstanceState.__init__

    def __init__(self: InstanceState, obj: Any, manager: Any) -> None:
        original(self, obj, manager)
        # The two attributes InstanceState._cleanup writes; setting them creates the dict now.
        self.session_id = None
        self._strong_obj = None

    InstanceState.__init__ = __init__  # type: ignore[method-assign]
    setattr(InstanceState, _MARK, True)
    return True
