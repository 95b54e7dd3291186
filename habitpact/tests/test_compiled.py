"""habitpact.compiled: a queryset compiled once runs as the ORM would run it afresh."""

import uuid

import pytest
from django.db import connection

from conftest import make_user
from habitpact.compiled import compile_once
from pacts.models import User

pytestmark = pytest.mark.django_db

STAND_INS = [("stand-in-a", -101), ("stand-in-b", -102)]


def named(username, telegram_user_id):
    return User.objects.filter(username=username, telegram_user_id=telegram_user_id, is_active=True)


def prepared(username, telegram_user_id):
    return {"username": username, "telegram_user_id": telegram_user_id}


def run(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_bound_values_run_as_a_fresh_compilation_would():
    ann, bob = make_user("Ann"), make_user("Bob")
    compiled = compile_once(named, prepared, STAND_INS)

    for user in (ann, bob):
        fresh_sql, fresh_params = named(
            user.username, user.telegram_user_id
        ).query.sql_with_params()
        params = compiled.bind(prepared(user.username, user.telegram_user_id))
        assert (compiled.sql, params) == (fresh_sql, list(fresh_params))
        assert run(compiled.sql, params) == run(fresh_sql, fresh_params) != []
    assert run(compiled.sql, compiled.bind(prepared(ann.username, bob.telegram_user_id))) == []


def test_a_queryset_whose_sql_depends_on_the_values_is_refused():
    def first_n(n):
        return User.objects.order_by("pk")[:n]  # the limit is written into the SQL

    with pytest.raises(RuntimeError, match="aren't what they seem"):
        compile_once(first_n, lambda n: {"n": n}, [(3,), (4,)])


def test_a_value_the_queryset_leaves_out_is_refused():
    def by_id(pk, telegram_user_id):
        return User.objects.filter(pk=pk)

    stand_ins = [(uuid.UUID(int=1), -1), (uuid.UUID(int=2), -2)]
    with pytest.raises(RuntimeError, match="missing"):
        compile_once(
            by_id,
            lambda pk, tg: {"pk": User._meta.pk.get_db_prep_value(pk, connection), "tg": tg},
            stand_ins,
        )
