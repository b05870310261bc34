"""Images: pulling one (simulated, repeatable) and resolving the image a reference names."""

from __future__ import annotations

import hashlib
import re

from django.db import IntegrityError, transaction

from containers.docker_api.parsing import check_image_name, parse_image_ref
from containers.models import Image
from containers.services.refusals import ContainerRefused

KNOWN_IMAGE_SIZES_MB = {
    "nginx": 188, "redis": 117, "postgres": 435, "python": 125, "grafana/grafana": 467, "alpine": 8, "busybox": 4,
    "prom/prometheus": 262, "node": 1100, "mysql": 586, "mariadb": 405, "mongo": 757, "traefik": 186,
    "httpd": 148, "memcached": 84, "rabbitmq": 231, "elasticsearch": 1240, "ubuntu": 78, "debian": 117,
}  # fmt: skip
DIGEST_PREFIX_RE = re.compile(r"(sha256:)?[0-9a-f]{12,64}")


def _simulated_size(repository: str, tag: str, seed: str) -> int:
    """A plausible size in bytes: the real image's for well-known ones, a third of it for slim and alpine tags."""
    base_mb = KNOWN_IMAGE_SIZES_MB.get(repository.rsplit(":", 1)[0]) or 20 + int(seed[:4], 16) % 380
    if tag.endswith(("-slim", "-alpine")) or "alpine" in tag:
        base_mb = max(5, base_mb // 3)
    return base_mb * 1_000_000 + int(seed[4:9], 16) % 1_000_000


def image_pull(*, repository: str, tag: str = "latest") -> Image:
    """Pulls an image (simulated): the digest and size follow from its name, so a pull is repeatable. Pulling an
    image that is already there returns it unchanged."""
    repository, tag, _ = parse_image_ref(f"{repository}:{tag}" if tag else repository)
    check_image_name(repository, tag)
    existing = Image.objects.filter(repository=repository, tag=tag).first()
    if existing:
        return existing
    seed = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    size = _simulated_size(repository, tag, seed)
    image = Image(repository=repository, tag=tag, digest=f"sha256:{seed}", size_bytes=size)
    image.full_clean()
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:  # pulled concurrently: same name, same result
        return Image.objects.get(repository=repository, tag=tag)
    return image


def image_resolve(ref: str) -> Image:
    """The image a reference names (repository[:tag], @digest, or an id prefix), or 'No such image'."""
    repository, tag, digest = parse_image_ref(ref)
    image = None
    if digest:
        image = Image.objects.filter(digest=digest).first()
    elif DIGEST_PREFIX_RE.fullmatch(ref.strip()):
        image = Image.objects.filter(digest__startswith="sha256:" + ref.strip().removeprefix("sha256:")).first()
    if image is None and not digest:
        image = Image.objects.filter(repository=repository, tag=tag).first()
    if image is None:
        shown = f"{repository}@{digest}" if digest else f"{repository}:{tag}"
        raise ContainerRefused(f"No such image: {shown}", code="no_such_image")
    return image
