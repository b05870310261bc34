"""The Docker Engine API of a container host, at /docker/<container-host-name>/: the stock docker CLI creates and
manages container-VMs through the same services as the pages and the REST API."""
