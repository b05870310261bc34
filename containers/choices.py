"""Choices for container fields, each with the colour the pages use for it."""

from django.db import models


class ContainerState(models.TextChoices):
    """Docker's container states, as far as a container-VM goes through them."""

    CREATED = "created", "Created"
    RUNNING = "running", "Running"
    EXITED = "exited", "Exited"

    @property
    def colour(self) -> str:
        return {"created": "indigo", "running": "green", "exited": "grey"}[self.value]


class RestartPolicy(models.TextChoices):
    NO = "no", "No"
    ALWAYS = "always", "Always"
    UNLESS_STOPPED = "unless-stopped", "Unless stopped"
    ON_FAILURE = "on-failure", "On failure"


class Protocol(models.TextChoices):
    TCP = "tcp", "TCP"
    UDP = "udp", "UDP"
    SCTP = "sctp", "SCTP"


class EventAction(models.TextChoices):
    CREATE = "create", "Created"
    START = "start", "Started"
    STOP = "stop", "Stopped"
    RESTART = "restart", "Restarted"
    REMOVE = "remove", "Removed"
    MOVE = "move", "Moved"
    RESCHEDULE = "reschedule", "Rescheduled"

    @property
    def colour(self) -> str:
        return {
            "create": "indigo",
            "start": "green",
            "stop": "grey",
            "restart": "amber",
            "remove": "red",
            "move": "teal",
            "reschedule": "amber",
        }[self.value]


class Orchestrator(models.TextChoices):
    KUBERNETES = "kubernetes", "Kubernetes"
    OPENSHIFT = "openshift", "OpenShift"
    K3S = "k3s", "K3s"


class PodPhase(models.TextChoices):
    """Kubernetes' pod phases (status.phase)."""

    PENDING = "Pending", "Pending"
    RUNNING = "Running", "Running"
    SUCCEEDED = "Succeeded", "Succeeded"
    FAILED = "Failed", "Failed"
    UNKNOWN = "Unknown", "Unknown"

    @property
    def colour(self) -> str:
        return {"Pending": "amber", "Running": "green", "Succeeded": "indigo", "Failed": "red", "Unknown": "grey"}[
            self.value
        ]
