"""The outbox for staff: read it, and queue failed messages again after an outage."""

from __future__ import annotations

from django.contrib import admin, messages

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """View-only, like the rest of the admin: rows change through the state machine."""

    list_display = ["created_at", "kind", "chat_id", "user", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["=chat_id", "kind", "dedupe_key", "user__username"]
    ordering = ["-created_at"]
    list_select_related = ["user"]
    actions = ["send_again"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_send_again_permission(self, request) -> bool:
        return request.user.has_perm("outbox.change_outboxmessage")

    @admin.action(description="Send failed messages again", permissions=["send_again"])
    def send_again(self, request, queryset):
        """FAILED → PENDING, due now: for after a Telegram outage. Messages the user
        can't receive (UNDELIVERABLE: they blocked the bot) and sent ones stay as they
        are."""
        count = queryset.send_again()
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
