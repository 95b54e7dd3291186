from outbox.models import Kind
from telegram_bot.messages import RENDERERS


def test_every_kind_has_a_renderer_and_every_renderer_a_kind():
    assert set(RENDERERS) == set(Kind)
    assert all(isinstance(key, Kind) for key in RENDERERS)
