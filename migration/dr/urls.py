from django.urls import path

app_name = "dr"

urlpatterns: list = []
