from django.urls import path, re_path

from . import views

urlpatterns = [
    path("pacts/<uuid:pact_id>/ledger", views.pact_ledger, name="pact_ledger"),
    path("pacts/<uuid:pact_id>/settlements", views.settlement_new, name="settlement_new"),
    re_path(
        r"^settlements/(?P<settlement_id>[0-9a-f-]{36})/(?P<answer>confirm|cancel)$",
        views.settlement_answer,
        name="settlement_answer",
    ),
]
