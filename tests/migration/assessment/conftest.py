import pytest
from django.core.management import call_command

from inventory.models import Site


@pytest.fixture
def demo(db):
    """The demo cloud, small: California, Virginia and two public regions, with their real links."""
    call_command("seed_demo", workloads=80, no_extensions=True, verbosity=0)
    return {site.name: site for site in Site.objects.all()}
