import re
from types import SimpleNamespace

import pytest
from limits.storage import MemoryStorage

from mobilize.accounts import services, throttle
from mobilize.core.errors import Conflict, Forbidden, Invalid
from tests.support.factories import PASSWORD
from tests.support.infra import body_text


def test_sign_up_creates_owner_of_new_organization(make):
    user, org = make.organizer(email="Maya@Example.org", org="Flex")
    assert user.email == "maya@example.org"
    assert services.require_member(user.id, org.id).role == "owner"
    assert user.password_hash.startswith("$argon2")


def test_sign_up_twice_with_same_email_conflicts(make):
    make.organizer(email="a@example.org")
    with pytest.raises(Conflict):
        services.sign_up("A@example.org", "Again", PASSWORD)


def test_short_password_is_refused():
    with pytest.raises(Invalid) as error:
        services.sign_up("b@example.org", "B", "short")
    assert "password" in error.value.fields


def test_authenticate_rejects_wrong_password_with_same_message_as_unknown_email(make):
    user, _ = make.organizer()
    with pytest.raises(Invalid) as wrong:
        services.authenticate(user.email, "wrong password!")
    with pytest.raises(Invalid) as unknown:
        services.authenticate("nobody@example.org", PASSWORD)
    assert wrong.value.message == unknown.value.message
    assert services.authenticate(user.email.upper(), PASSWORD).id == user.id


def test_organizer_of_one_org_is_forbidden_in_another(make):
    alice, alice_org = make.organizer()
    bob, bob_org = make.organizer()
    with pytest.raises(Forbidden):
        services.require_member(bob.id, alice_org.id)
    with pytest.raises(Forbidden):
        services.update_organization(bob.id, alice_org.id, name="Hijacked")
    with pytest.raises(Forbidden):
        services.add_member(bob.id, alice_org.id, bob.email)


def test_only_owners_change_settings_and_last_owner_stays(make):
    owner, org = make.organizer()
    helper, _ = make.organizer(org=None)
    services.add_member(owner.id, org.id, helper.email)
    with pytest.raises(Forbidden):
        services.update_organization(helper.id, org.id, name="Mine now")
    with pytest.raises(Conflict):
        services.remove_member(owner.id, org.id, owner.id)
    services.remove_member(owner.id, org.id, helper.id)
    with pytest.raises(Forbidden):
        services.require_member(helper.id, org.id)


def test_slugs_are_unique(make):
    user, _ = make.organizer(org=None)
    first = services.create_organization(user.id, "Flex Now")
    second = services.create_organization(user.id, "Flex Now")
    assert first.slug == "flex-now" and second.slug == "flex-now-2"


def test_api_token_is_stored_hashed_and_revocable(make, db):
    user, _ = make.organizer()
    token, raw = services.create_api_token(user.id, "CRM")
    assert raw not in token.token_hash and len(raw) > 40
    assert services.user_for_token(raw).id == user.id
    assert services.user_for_token(raw + "x") is None
    services.revoke_api_token(user.id, token.id)
    assert services.user_for_token(raw) is None


def test_password_reset_link_works_once(make, send_queued_mail, smtp_server):
    user, _ = make.organizer()
    services.request_password_reset(user.email)
    assert send_queued_mail() == 1
    body = smtp_server.wait_for(1, to=user.email)[0].as_string()
    token = body.split("/password/reset/")[1].split()[0]
    services.reset_password(token, "a brand new password")
    assert services.authenticate(user.email, "a brand new password")
    with pytest.raises(Invalid):
        services.reset_password(token, "yet another password")


def test_password_reset_for_unknown_email_sends_nothing(send_queued_mail):
    services.request_password_reset("ghost@example.org")
    assert send_queued_mail() == 0


def test_forged_reset_token_is_invalid():
    with pytest.raises(Invalid):
        services.reset_password("forged.token.value", "whatever password")


def test_sign_up_link_cannot_finish_once_the_email_has_an_account(send_queued_mail, smtp_server):
    services.request_sign_up("late@example.org", "Late", "Late Org")
    send_queued_mail()
    token = re.search(r"/signup/finish/(\S+)", body_text(smtp_server.wait_for(1, to="late@example.org")[0])).group(1)
    assert services.pending_sign_up(token)["email"] == "late@example.org"
    services.sign_up("late@example.org", "Via CLI", PASSWORD)
    with pytest.raises(Conflict):
        services.finish_sign_up(token, "a long enough password")
    with pytest.raises(Invalid):
        services.finish_sign_up(token + "x", "a long enough password")


def test_session_ids_name_the_password_so_a_new_one_disowns_them(make):
    user, _ = make.organizer()
    old = user.get_id()
    assert services.user_for_session(old).id == user.id
    services.change_password(user.id, PASSWORD, "another long password")
    assert user.get_id() != old and user.get_id().startswith(f"{user.id}:")
    assert services.user_for_session(old) is None
    assert services.user_for_session(user.get_id()).id == user.id
    for forged in (str(user.id), f"{user.id}:", "x:y", ""):
        assert services.user_for_session(forged) is None


def test_waits_double_after_a_few_failures_then_the_account_locks():
    email = "target@example.org"
    for _ in range(throttle.SLOW_AFTER - 1):
        assert throttle.record_failure(email) is False
    assert throttle.wait_seconds(email) == 0
    waits = []
    for _ in range(throttle.SLOW_AFTER, throttle.LOCK_AFTER):
        assert throttle.record_failure(email) is False
        waits.append(throttle.wait_seconds(email))
    assert all(2 ** n - 1 <= wait <= 2 ** n for n, wait in enumerate(waits, start=1))  # whole seconds left
    assert throttle.record_failure(email) is True
    assert throttle.LOCK_SECONDS - 2 <= throttle.wait_seconds(email) <= throttle.LOCK_SECONDS
    assert throttle.wait_seconds("other@example.org") == 0
    throttle.clear(email)
    assert throttle.wait_seconds(email) == 0


def test_log_in_works_and_is_throttled_while_the_limit_store_fails(make, monkeypatch):
    class Down:
        def __getattr__(self, name):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr(throttle, "limiter", SimpleNamespace(limiter=SimpleNamespace(storage=Down())))
    monkeypatch.setattr(throttle, "_this_process", MemoryStorage())
    user, _ = make.organizer()
    assert services.authenticate(user.email, PASSWORD).id == user.id
    for _ in range(throttle.SLOW_AFTER):
        with pytest.raises(Invalid):
            services.authenticate(user.email, "wrong password")
    with pytest.raises(services.TooManyAttempts):
        services.authenticate(user.email, PASSWORD)
