from django.urls import path

from migration.alarms.api import views

urlpatterns = [
    path("alarms/", views.AlarmListView.as_view(), name="alarm-list"),
    path("alarms/<int:pk>/", views.AlarmDetailView.as_view(), name="alarm-detail"),
    path("alarms/<int:pk>/acknowledge/", views.AlarmAcknowledgeView.as_view(), name="alarm-acknowledge"),
    path("alarms/<int:pk>/clear/", views.AlarmClearView.as_view(), name="alarm-clear"),
    path("alarms/rules/", views.AlarmRuleListView.as_view(), name="alarm-rule-list"),
    path("alarms/rules/<int:pk>/", views.AlarmRuleDetailView.as_view(), name="alarm-rule-detail"),
    path("alarms/deliveries/", views.DeliveryListView.as_view(), name="alarm-delivery-list"),
]
