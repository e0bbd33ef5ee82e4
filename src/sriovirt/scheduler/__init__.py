"""sriovirt.scheduler: choosing the host of a new server.

``request_spec`` (what a boot asks for), ``request_filter`` (what it
asks of Placement, conflicts refused before any host), ``placement_query``
(the allocation-candidates query), ``host_state`` (Placement's answer
and the pools as values), ``filters`` and ``weights`` (which hosts, in
which order), ``selection`` (``select_hosts``, ``NoValidHost``) and
``destinations`` (one whole decision).  See doc/source/scheduler.rst.

The package is pure: Placement and the database are reached only
through what callers pass in; configuration arrives as values.
"""
