"""The boot journal: what a boot or delete in flight has done, and
whether the process doing it is still alive.

A boot writes its instance row first, in state :data:`BUILDING`, and
moves its ``task_state`` to the next step (:class:`Step`) *before* each
side effect outside this process: claim, bind, spawn.  It turns the row
:data:`ACTIVE` as its last act, together with the guest XML.  A delete
sets ``task_state`` :data:`DELETING` before its first side effect.  So
a row that is still :data:`BUILDING` or :data:`DELETING` after its
process died says that something may be half done, and what: a boot is
rolled back (nobody was told it succeeded), a delete is completed (it
was asked for).  Both are the same teardown, which is safe to run on
any prefix of a boot.

Whether the process is alive is an exclusive ``flock`` on
``<lock directory>/instance-<uuid>.lock``, held by the boot or delete
from before its first write to after its last.  The kernel drops it
when the process dies, SIGKILL included, so :meth:`InstanceLocks.try_hold`
succeeding means no live process is working on that instance: no PID
files, no clocks, nothing a PID reused by another program can fool.
``flock`` locks belong to an open file, so two threads of one process
exclude each other too.  The lock directory must be local to the host
(the compute service and the commands of one host share it).

This module must not touch the database, the hypervisor or the network
service: it names the states and owns the locks; the manager and the
reconcile use them.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import fcntl
import os
import uuid as uuid_lib
from collections.abc import Iterator
from pathlib import Path

from sriovirt import exception

#: ``instances.vm_state`` of a boot that has not finished.
BUILDING = "building"
#: ``instances.vm_state`` of a server that booted.
ACTIVE = "active"
#: ``instances.task_state`` of a server being deleted.
DELETING = "deleting"


class Step(enum.StrEnum):
    """A boot's ``task_state``: the step it is about to take (or is in)."""

    #: The row is written; devices are being claimed and allocated.
    CLAIM = "claiming"
    #: Ports are being bound.
    BIND = "binding"
    #: The guest is being defined and started.
    SPAWN = "spawning"
    #: A failed boot is being rolled back (or its rollback failed and
    #: reconcile has to finish it).
    ROLLBACK = "rolling back"


def interrupted(vm_state: str, task_state: str | None) -> str | None:
    """What reconcile must do with a row whose process is gone:
    ``"roll back"``, ``"complete delete"``, or None (nothing pending)."""
    if task_state == DELETING:
        return "complete delete"
    if vm_state == BUILDING:
        return "roll back"
    return None


class InstanceLocks:
    """One lock file per instance under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, instance_uuid: str) -> Path:
        # Only a canonical UUID becomes part of a path.
        canonical = str(uuid_lib.UUID(instance_uuid))
        return self.directory / f"instance-{canonical}.lock"

    def _open(self, instance_uuid: str) -> int:
        path = self._path(instance_uuid)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise exception.ConfigError(
                reason=f"cannot open the instance lock file {path} "
                f"({exc.strerror}); the lock directory comes from "
                "[DEFAULT] state_path and must be writable"
            ) from exc

    def _acquire(self, instance_uuid: str, wait: bool) -> int | None:
        """An fd holding the lock of the file now at the instance's
        path; None when another holder has it and ``wait`` is false."""
        path = self._path(instance_uuid)
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        while True:
            fd = self._open(instance_uuid)
            try:
                fcntl.flock(fd, flags)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    return None
                raise
            # The holder before us may have removed the file (forget):
            # a lock on a removed file excludes nobody, so start over.
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    return fd
            except FileNotFoundError:
                pass
            os.close(fd)

    @contextlib.contextmanager
    def hold(self, instance_uuid: str) -> Iterator[None]:
        """Hold the instance's lock, waiting for another holder."""
        fd = self._acquire(instance_uuid, wait=True)
        assert fd is not None
        try:
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def try_hold(self, instance_uuid: str) -> Iterator[bool]:
        """Hold the lock if nobody does (True), else do not wait (False:
        a live process is working on the instance)."""
        fd = self._acquire(instance_uuid, wait=False)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                os.close(fd)

    def forget(self, instance_uuid: str) -> None:
        """Remove the lock file of an instance that is gone.

        Called while holding the lock, after the rows are deleted.  A
        process that opened the old file meanwhile gets its lock once
        this one is released, sees the file gone and locks the new one
        instead, so two holders never overlap.
        """
        with contextlib.suppress(FileNotFoundError):
            self._path(instance_uuid).unlink()
