"""Notifications other apps may listen to. They are sent after the transaction that made the change commits."""

from django.dispatch import Signal

# Sent with workload_id, action (an EventAction value) and container_host_id once a container-VM changed.
container_changed = Signal()
