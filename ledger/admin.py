"""Admin for the ledger: entries can be added, only as ADJUSTMENT, and never changed.

The ledger is append-only (the database rejects UPDATE and DELETE too). Staff correct a
balance by adding a signed ADJUSTMENT with a required note; the entry records who added
it. There is no change form, no delete button and no bulk delete: every existing entry
is shown read-only. Settlements are read-only history: they move only when both friends
confirm in the app.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from habitpact.errors import DomainError

from .actions import adjustment_record, adjustment_refusal
from .models import LedgerEntry, Settlement


class AdjustmentForm(forms.ModelForm):
    amount = forms.IntegerField(
        help_text=(
            "Signed, in the pact's minor units (pence): positive adds to what the initiator "
            "owes the partner, negative takes it off."
        )
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: the friends see this in their ledger.",
    )

    class Meta:
        model = LedgerEntry
        fields = ["pact", "amount", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.type = LedgerEntry.Type.ADJUSTMENT

    def clean(self):
        cleaned = super().clean()
        pact, amount, note = cleaned.get("pact"), cleaned.get("amount"), cleaned.get("note")
        if pact is not None and amount is not None and note:
            refusal = adjustment_refusal(pact, amount, note)
            if refusal is not None:
                field = next(iter(refusal.details), None)
                raise ValidationError(
                    {field: refusal.message} if field in self.fields else refusal.message
                )
        return cleaned


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    form = AdjustmentForm
    raw_id_fields = ["pact"]
    list_display = ["created_at", "pact", "type", "amount", "note", "created_by_user"]
    list_filter = ["type"]
    search_fields = [
        "pact__title",
        "=pact__invite_code",
        "=pact__participants__user__telegram_user_id",
        "pact__participants__user__username",
        "note",
    ]
    ordering = ["-created_at"]
    list_select_related = ["pact", "created_by_user"]
    view_fields = [
        "id",
        "pact",
        "pact_day",
        "type",
        "amount",
        "from_user",
        "to_user",
        "note",
        "created_by_user",
        "created_at",
    ]

    def get_fields(self, request, obj=None):
        return ["pact", "amount", "note"] if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        """Write through the domain (locks the pact, re-checks, records the author)."""
        if change:
            raise PermissionError("Ledger entries are never changed.")
        try:
            entry = adjustment_record(
                form.cleaned_data["pact"],
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                staff_user=request.user,
            )
        except DomainError as error:
            # Only when the balance moved between the form's check and the write.
            self.message_user(request, error.message, messages.ERROR)
            raise
        for field in LedgerEntry._meta.concrete_fields:
            setattr(obj, field.attname, getattr(entry, field.attname))
        obj._state.adding = False
        obj._state.db = entry._state.db


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "pact", "amount", "status", "proposed_by_user", "resolved_at"]
    list_filter = ["status"]
    search_fields = [
        "pact__title",
        "=pact__invite_code",
        "=pact__participants__user__telegram_user_id",
        "pact__participants__user__username",
    ]
    ordering = ["-created_at"]
    list_select_related = ["pact", "proposed_by_user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
