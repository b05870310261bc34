"""Writes for containers, by concern. Every refusal is a `refusals.ContainerRefused` raised before anything is
written, or inside the transaction that is then rolled back.

- `images`: pulling and resolving images;
- `create`: creating a container-VM (placement by `migration.placement`, addresses by `inventory.addresses`);
- `lifecycle`: start, stop, restart, rename, remove;
- `limits`: a container host's CPU and memory limits;
- `events`: the history (one event per change, the `container_changed` notification, moves made by migrations);
- `pods`: rescheduling a pod (a cold move);
- `kubernetes_import`: importing `kubectl get nodes,pods -o json`.

The Docker syntax these accept (image references, ports, env, memory sizes) is parsed in
`containers.docker_api.parsing`.
"""
