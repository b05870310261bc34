"""HybridCloud's composition root (settings, urls, routing, asgi, Celery, the run command) around its platform core,
`hybridcloud.core`. It imports nothing when imported, so that the pure engine may use `hybridcloud.core.units`:
the Celery app is loaded when Django starts (`CompositionRootConfig.ready`), and `celery -A hybridcloud` finds it
in `hybridcloud.celery`."""
