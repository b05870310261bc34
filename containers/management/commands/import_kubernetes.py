"""python manage.py import_kubernetes --cluster NAME FILE: imports `kubectl get nodes,pods -o json`."""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from containers.models import ContainerCluster
from containers.services.kubernetes_import import cluster_import_kubernetes
from containers.services.refusals import ContainerRefused
from inventory.models import Site


class Command(BaseCommand):
    help = (
        "Imports the JSON that `kubectl get nodes,pods -o json` prints into an orchestrated cluster: nodes matched "
        "to the VMs of the cluster's site by name or created, pods created, updated or removed. Nothing is changed "
        "when the file is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The JSON file ('-' reads standard input).")
        parser.add_argument("--cluster", required=True, help="The container cluster's name.")
        parser.add_argument(
            "--site", help="Create the cluster on this site (name) when it does not exist yet.", default=None
        )

    def handle(self, *args, file, cluster, site, **options):
        try:
            document = self.stdin_or_file(file)
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror or exc}") from None
        with transaction.atomic():  # a cluster created here goes away again if the import is refused
            self.import_into(cluster, site, document)

    def import_into(self, cluster: str, site: str | None, document: bytes) -> None:
        target = ContainerCluster.objects.filter(name=cluster).first()
        if target is None:
            if not site:
                known = ", ".join(ContainerCluster.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(
                    f"No container cluster named {cluster!r} (known: {known}). Give --site SITE to create it."
                )
            site_obj = Site.objects.filter(name=site).first()
            if site_obj is None:
                raise CommandError(f"No site named {site!r}.")
            target = ContainerCluster(name=cluster, site=site_obj)
            try:
                target.full_clean()
            except ValidationError as exc:
                raise CommandError(f"Cannot create cluster {cluster!r}: {' '.join(exc.messages)}") from None
            target.save()
            self.stdout.write(f"Created cluster {cluster} on {site_obj}.")
        try:
            report = cluster_import_kubernetes(cluster=target, document=document)
        except ContainerRefused as exc:
            raise CommandError(f"Import refused, nothing changed: {exc.messages[0]}") from None
        self.stdout.write(self.style.SUCCESS(f"Imported into {target.name}. {report.summary()}"))

    @staticmethod
    def stdin_or_file(file: str) -> bytes:
        if file == "-":
            return sys.stdin.buffer.read()
        return Path(file).read_bytes()
