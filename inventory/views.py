from django.shortcuts import render

from inventory.models import Site, Workload


def overview(request):
    return render(
        request,
        "inventory/overview.html",
        {"site_count": Site.objects.count(), "workload_count": Workload.objects.count()},
    )
