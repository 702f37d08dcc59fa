import pytest

from mobilize.accounts import services
from mobilize.core.errors import Conflict, Forbidden, Invalid
from tests.support.factories import PASSWORD


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
