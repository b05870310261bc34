"""The hybrid cloud's inventory: sites, the links between them, clusters, hosts, storage, networks and workloads,
one module per concern; every model is importable from here (`from inventory.models import Host`)."""

from inventory.models.compute import Cluster, Host
from inventory.models.estates import Estate, EstateDatacenter, EstateImport, EstateImportFile
from inventory.models.network import NetworkSegment
from inventory.models.sites import CloudLink, Site
from inventory.models.storage import Datastore
from inventory.models.tags import PlacementRule, Tag
from inventory.models.workloads import Workload

__all__ = [
    "CloudLink",
    "Cluster",
    "Datastore",
    "Estate",
    "EstateDatacenter",
    "EstateImport",
    "EstateImportFile",
    "Host",
    "NetworkSegment",
    "PlacementRule",
    "Site",
    "Tag",
    "Workload",
]
