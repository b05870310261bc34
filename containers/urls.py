app_name = "containers"

urlpatterns: list = []
