"""Django admin for the people who run HabitPact: look things up, never rewrite history.

Users and pacts (with their participants, days, ledger and settlements inline) are for
reading: pacts and days change only through the domain's transitions, and the ledger
only through new entries (see `ledger/admin.py`, where staff record an ADJUSTMENT; the
outbox has its own page in `outbox/admin.py`). Search finds people by Telegram id or
username and pacts by title, invite code or either participant."""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from ledger.models import LedgerEntry, Settlement, balance_of

from .models import Pact, PactDay, PactParticipant, User


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: the data is history, changed only by the domain's own functions."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ParticipantInline(ReadOnlyInline):
    model = PactParticipant
    fields = ["role", "user", "status", "accepted_at"]
    readonly_fields = fields


class PactDayInline(ReadOnlyInline):
    model = PactDay
    fields = [
        "date",
        "status",
        "deadline_at",
        "checked_in_at",
        "checkin_note",
        "disputed_at",
        "dispute_reason",
        "resolution",
        "skipped_at",
    ]
    readonly_fields = fields
    ordering = ["-date"]


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fk_name = "pact"
    fields = ["created_at", "type", "amount", "pact_day", "note", "created_by_user"]
    readonly_fields = fields
    ordering = ["created_at", "id"]


class SettlementInline(ReadOnlyInline):
    model = Settlement
    fields = [
        "created_at",
        "amount",
        "status",
        "proposed_by_user",
        "from_user_confirmed_at",
        "to_user_confirmed_at",
        "cancelled_by_user",
        "resolved_at",
    ]
    readonly_fields = fields


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """People sign up through Telegram and erase themselves through the app; staff may
    switch an account off and grant admin rights, and read the rest."""

    list_display = ["display_name", "username", "telegram_user_id", "is_active", "created_at"]
    list_filter = ["is_active", "is_staff", "deleted_at"]
    search_fields = ["=telegram_user_id", "username", "display_name"]
    ordering = ["-created_at"]
    fields = [
        "id",
        "display_name",
        "username",
        "telegram_user_id",
        "timezone",
        "notify_reminders",
        "notify_disputes",
        "reminder_minutes_before",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "deleted_at",
        "last_login",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        name for name in fields if name not in {"is_active", "is_staff", "is_superuser", "groups"}
    ]
    filter_horizontal = ["groups"]

    def has_add_permission(self, request) -> bool:
        return False  # accounts come from Telegram; staff from `createsuperuser`

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # history points at users; erasure is `pacts.privacy.user_delete`


@admin.register(Pact)
class PactAdmin(ReadOnlyAdmin):
    list_display = ["title", "status", "initiator_name", "partner_name", "stake", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = [
        "title",
        "=invite_code",
        "=participants__user__telegram_user_id",
        "participants__user__username",
    ]
    ordering = ["-created_at"]
    inlines = [ParticipantInline, SettlementInline, LedgerEntryInline, PactDayInline]
    readonly_fields = ["balance", "adjust"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("participants__user")

    def get_fields(self, request, obj=None):
        fields = [f.name for f in Pact._meta.fields]
        return ["balance", "adjust", *fields]

    @admin.display(description="initiator")
    def initiator_name(self, pact: Pact) -> str:
        user = pact.initiator
        return str(user) if user else "—"

    @admin.display(description="partner")
    def partner_name(self, pact: Pact) -> str:
        user = pact.partner
        return str(user) if user else "—"

    @admin.display(description="stake")
    def stake(self, pact: Pact) -> str:
        return f"{pact.stake_amount} {pact.currency}"

    @admin.display(description="balance (minor units; + = initiator owes partner)")
    def balance(self, pact: Pact) -> int:
        return balance_of(pact)

    @admin.display(description="correct the balance")
    def adjust(self, pact: Pact) -> str:
        if pact.pk is None:
            return "—"
        url = reverse("admin:ledger_ledgerentry_add") + f"?pact={pact.pk}"
        return format_html('<a href="{}">Add a ledger adjustment…</a>', url)
