from django.urls import path

from migration.dr import consumers

websocket_urlpatterns = [
    path("ws/drills/<int:pk>/", consumers.DrillConsumer.as_asgi()),
]
