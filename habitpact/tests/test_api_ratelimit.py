"""Spec §13 rate limits, counted in the rate_limit_counters table."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import make_user, run_together
from habitpact.models import RateLimitCounter
from habitpact.ratelimit import hit, prune_rate_limits
from habitpact.testing import sign_init_data, tg_user
from habitpact.tests.api import API, assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits_on(settings, clock):
    """Limits switched on, on the frozen clock (09:00:00, the start of a window)."""
    settings.RATE_LIMIT_ENABLED = True


def exhaust(send, allowed: int):
    """Send `allowed` requests that must pass, then one that must be limited."""
    for n in range(allowed):
        response = send()
        assert response.status_code != 429, f"request {n + 1} of {allowed} was limited"
    return send()


def assert_limited(response, *, retry_after: int):
    error = assert_error(response, 429, "RATE_LIMITED")
    assert response["Retry-After"] == str(retry_after)
    assert error["details"]["retry_after"] == retry_after


def test_check_in_allows_five_a_minute_then_says_when_to_retry(limits_on, pact, initiator, clock):
    clock.move_to(datetime(2025, 1, 20, 9, 0, 45, tzinfo=UTC))
    client = client_for(initiator)
    url = f"{API}/pacts/{pact.pk}/days/2025-01-20/checkin"
    assert_limited(exhaust(lambda: client.post(url, {}), 5), retry_after=15)
    # Another scope is counted apart, and a new window starts afresh.
    assert client.get(f"{API}/pacts").status_code == 200
    clock.shift(timedelta(seconds=15))
    assert client.post(url, {}).status_code == 409  # ALREADY_CHECKED_IN, not limited


def test_dispute_allows_three_a_minute(limits_on, pact, partner):
    client = client_for(partner)
    url = f"{API}/pacts/{pact.pk}/days/2025-01-20/dispute"
    assert_limited(exhaust(lambda: client.post(url, {}), 3), retry_after=60)


def test_sign_in_allows_ten_a_minute_per_ip(limits_on, clock):
    client = client_for(None)
    body = {"init_data": sign_init_data({"id": 5, "first_name": "Ann"})}

    def sign_in(ip="203.0.113.7"):
        return client.post(f"{API}/auth/telegram", body, REMOTE_ADDR=ip)

    assert_limited(exhaust(sign_in, 10), retry_after=60)
    assert sign_in(ip="203.0.113.8").status_code == 200


def test_reads_allow_a_hundred_a_minute_per_user(limits_on, initiator, partner):
    client = client_for(initiator)
    assert_limited(exhaust(lambda: client.get(f"{API}/users/me"), 100), retry_after=60)
    assert client_for(partner).get(f"{API}/users/me").status_code == 200


def test_other_writes_allow_thirty_a_minute(limits_on, initiator):
    client = client_for(initiator)
    send = lambda: client.patch(f"{API}/users/me", {"notify_reminders": True})  # noqa: E731
    assert_limited(exhaust(send, 30), retry_after=60)


def test_the_client_cannot_pick_its_own_rate_key(limits_on, initiator):
    client = client_for(None)
    body = {"init_data": "bad"}
    for n in range(10):
        client.post(f"{API}/auth/telegram", body, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    response = client.post(f"{API}/auth/telegram", body, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert_error(response, 429, "RATE_LIMITED")


def test_limits_are_off_unless_enabled(settings, initiator):
    settings.RATE_LIMIT_ENABLED = False
    client = client_for(initiator)
    assert all(client.get(f"{API}/users/me").status_code == 200 for _ in range(105))
    assert not RateLimitCounter.objects.exists()


def test_limits_come_from_settings(limits_on, settings, initiator):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "read": (2, 10)}
    client = client_for(initiator)
    assert_limited(exhaust(lambda: client.get(f"{API}/users/me"), 2), retry_after=10)


def test_a_window_counts_every_hit(clock):
    results = [hit("k", limit=3, window=60) for _ in range(5)]
    assert [r.hits for r in results] == [1, 2, 3, 4, 5]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert RateLimitCounter.objects.get().hits == 5


def test_prune_deletes_only_ended_windows(clock):
    hit("old", limit=1, window=60)
    clock.shift(timedelta(minutes=5))
    hit("new", limit=1, window=60)
    assert prune_rate_limits() == 1
    assert list(RateLimitCounter.objects.values_list("key", flat=True)) == ["new"]


def test_prune_keeps_each_scope_for_its_own_window(clock):
    hit("checkin:user:1", limit=5, window=60)
    hit("admin_login:ip:203.0.113.7", limit=10, window=15 * 60)
    clock.shift(timedelta(minutes=5))
    assert prune_rate_limits() == 1
    keys = RateLimitCounter.objects.values_list("key", flat=True)
    assert list(keys) == ["admin_login:ip:203.0.113.7"]
    clock.shift(timedelta(minutes=11))
    assert prune_rate_limits() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_are_counted_exactly_once_each():
    threads, per_thread = 8, 25
    seen: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    window_start = datetime(2030, 1, 1, tzinfo=UTC)

    def worker():
        try:
            barrier.wait()
            for _ in range(per_thread):
                result = hit("race", limit=10**6, window=60, now=window_start)
                with lock:
                    seen.append(result.hits)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    total = threads * per_thread
    assert sorted(seen) == list(range(1, total + 1))
    assert RateLimitCounter.objects.get(key="race").hits == total


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_count_alone_skips_the_flush_wait_and_leaves_the_session_as_it_was():
    with CaptureQueriesContext(connection) as queries:
        assert hit("alone", limit=5, window=60).hits == 1
    assert "set_config('synchronous_commit', 'off', true)" in queries[0]["sql"]
    assert synchronous_commit() == "on"
    assert RateLimitCounter.objects.get(key="alone").hits == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_count_inside_a_transaction_never_makes_its_commit_asynchronous():
    with transaction.atomic():
        hit("inside", limit=5, window=60)
        assert synchronous_commit() == "on"
    assert RateLimitCounter.objects.get(key="inside").hits == 1


def test_a_token_and_init_data_draw_on_one_budget(limits_on, settings, initiator):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "read": (3, 60)}
    bearer = client_for(initiator)
    tma = client_for(None)
    tma.credentials(HTTP_AUTHORIZATION=f"tma {sign_init_data(tg_user(initiator))}")
    assert [c.get(f"{API}/users/me").status_code for c in (bearer, tma, bearer)] == [200] * 3
    assert_limited(tma.get(f"{API}/users/me"), retry_after=60)
    assert_limited(bearer.get(f"{API}/users/me"), retry_after=60)


@pytest.mark.postgres_only
def test_a_signed_in_request_counts_in_its_lookup_round_trip(limits_on, initiator):
    client = client_for(initiator)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{API}/users/me").status_code == 200
    counting = [q["sql"] for q in queries if "rate_limit_counters" in q["sql"]]
    assert len(counting) == 1 and '"users"' in counting[0]
    assert not [q for q in queries if q["sql"].startswith('SELECT "users"')]
    assert RateLimitCounter.objects.get(key=f"read:user:{initiator.pk}").hits == 1


@pytest.mark.postgres_only
def test_a_token_whose_user_is_gone_is_refused_after_one_count(limits_on, initiator):
    client = client_for(initiator)
    type(initiator).objects.filter(pk=initiator.pk).update(is_active=False)
    assert_error(client.get(f"{API}/users/me"), 401, "UNAUTHORIZED")
    assert RateLimitCounter.objects.get(key=f"read:user:{initiator.pk}").hits == 1


@pytest.mark.parametrize(
    "change",
    [{"deleted_at": datetime(2026, 1, 1, tzinfo=UTC)}, {"telegram_user_id": 999_000_111}],
    ids=["deleted", "another-telegram-account"],
)
def test_the_counted_lookup_refuses_what_the_orm_filter_refuses(limits_on, initiator, change):
    # The counted sign-in binds a token's claims into a lookup compiled once
    # (habitpact.auth._token_select): it must find exactly whom _token_users finds.
    client, other = client_for(initiator), client_for(make_user("Bystander"))
    assert client.get(f"{API}/users/me").json()["user"]["id"] == str(initiator.pk)
    assert other.get(f"{API}/users/me").json()["user"]["display_name"] == "Bystander"
    type(initiator).objects.filter(pk=initiator.pk).update(**change)
    assert_error(client.get(f"{API}/users/me"), 401, "UNAUTHORIZED")
    assert other.get(f"{API}/users/me").json()["user"]["display_name"] == "Bystander"
    assert RateLimitCounter.objects.get(key=f"read:user:{initiator.pk}").hits == 2


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_signed_in_requests_are_counted_exactly_once_each(limits_on, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "read": (60, 60)}
    user = make_user("Racer")
    threads, per_thread = 6, 12  # 72 requests in one (frozen) window, 60 allowed

    def requests(_i):
        client = client_for(user)
        return [client.get(f"{API}/users/me").status_code for _ in range(per_thread)]

    statuses = [status for answers in run_together(threads, requests) for status in answers]
    assert RateLimitCounter.objects.get(key=f"read:user:{user.pk}").hits == threads * per_thread
    assert (statuses.count(200), statuses.count(429)) == (60, 12)
