from django.urls import path

app_name = "containers"

urlpatterns: list = []
