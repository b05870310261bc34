"""Forms for the container pages; they only parse input. Every check that refuses runs in the services."""

from django import forms

from containers.choices import RestartPolicy
from containers.models import Image, Node


class ContainerCreateForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="Letters, digits, and _ . - (Docker's rule).")
    image = forms.ModelChoiceField(queryset=Image.objects.none(), to_field_name="pk", empty_label=None)
    command = forms.CharField(required=False, help_text="As you would type it, e.g. redis-server --appendonly yes")
    env = forms.CharField(
        required=False,
        label="Environment",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One NAME=value per line.",
    )
    ports = forms.CharField(required=False, help_text="Comma-separated HOST:CONTAINER[/PROTOCOL], e.g. 8080:80")
    cpus = forms.DecimalField(min_value=0.01, max_digits=6, decimal_places=2, initial=1, label="CPUs")
    memory = forms.CharField(initial="512m", help_text="e.g. 512m, 2g")
    restart_policy = forms.ChoiceField(choices=RestartPolicy.choices, initial=RestartPolicy.NO)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["image"].queryset = Image.objects.order_by("repository", "tag")

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "image_ref": data["image"].reference,
            "command": data["command"],
            "env": [line.strip() for line in data["env"].splitlines() if line.strip()],
            "ports": [p.strip() for p in data["ports"].split(",") if p.strip()],
            "cpus": data["cpus"],
            "memory_bytes": data["memory"],
            "restart_policy": data["restart_policy"],
        }


class ImagePullForm(forms.Form):
    reference = forms.CharField(max_length=300, help_text="repository[:tag], e.g. grafana/grafana:11.2")


class KubernetesImportForm(forms.Form):
    document = forms.FileField(label="kubectl get nodes,pods -o json", help_text="The JSON file kubectl printed.")


class PodRescheduleForm(forms.Form):
    node = forms.ModelChoiceField(queryset=Node.objects.none())

    def __init__(self, *args, pod, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["node"].queryset = pod.cluster.nodes.exclude(pk=pod.node_id).filter(ready=True).order_by("name")
