from django.urls import path

from migration import consumers

websocket_urlpatterns = [
    path("ws/activity/", consumers.ActivityConsumer.as_asgi()),
    path("ws/migrations/<int:pk>/", consumers.MigrationConsumer.as_asgi()),
]
