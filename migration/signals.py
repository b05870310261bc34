"""Notifications the migration app sends to the apps above it, which connect to them in their AppConfig.ready()
(the migration app imports none of them)."""

from django.dispatch import Signal

#: Sent by the driver with `migration` (a completed Migration) after the transaction that moved its workload to the
#: destination host commits. A receiver returns True when it announced the move on the activity channel itself (a
#: container-VM's history does, through its own change notification); the driver announces it otherwise. A
#: receiver that raises is logged, never fails the migration: the move itself is done.
workload_moved = Signal()
