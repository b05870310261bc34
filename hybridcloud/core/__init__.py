"""The platform core: what every app may import, and which imports no app.

Audit (model, recorder, page), roles and permissions, the authenticated websocket consumer base, the API's
exception handler, the list helpers and the middleware. `hybridcloud/` around it is the composition root (settings,
urls, routing, asgi, Celery, the run command), which apps never import.
"""
