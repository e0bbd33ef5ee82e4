"""Peer bench: Nova 34's own PCI code on sriovirt's bench workload.

:mod:`bench.nova_peer.driver` runs in sriovirt's environment: it builds
(on demand) a separate virtual environment with ``nova==34.0.0``,
serialises the workload the way Nova's libvirt driver reports devices,
runs :mod:`bench.nova_peer.runner` under that environment's interpreter
and turns both sides' figures into ratios.  The runner imports Nova and
never sriovirt; nothing of Nova is copied into this repository.
"""
