"""Every websocket route of the project, gathered from the apps' routing modules."""

from migration.routing import websocket_urlpatterns as migration_websockets

websocket_urlpatterns = [*migration_websockets]
