"""Every websocket route of the project, gathered from the apps' routing modules."""

from containers.routing import websocket_urlpatterns as container_websockets
from migration.dr.routing import websocket_urlpatterns as dr_websockets
from migration.routing import websocket_urlpatterns as migration_websockets

websocket_urlpatterns = [*migration_websockets, *dr_websockets, *container_websockets]
