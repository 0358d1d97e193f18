"""The peers' side of ``bench/peers.py``: one module per peer library, each run as a child
process from the bench-only virtualenv (``python -m peertasks.<peer> ACTION ...``).

Each module defines a no-op task that records when it began (``marks.mark``) and the
actions the parent asks for: ``setup``, ``enqueue``, ``fill``, ``trigger`` and ``consume``
(or ``precision`` for the scheduler peer). The database comes from ``PEER_DB``, the marks
file from ``PEER_MARKS``. Nothing here imports cronwell.
"""
